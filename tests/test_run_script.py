"""`dalisr run SCRIPT`: a HAT-shaped repository's own train.py (train_pipeline) and a script with its own copy
of the loop, each trained in a real subprocess under basicsr 1.4.2 and 1.3.4.9 (installed side by side by
tools/setup.sh in .venv/basicsr-1.3.4.9): train + val + checkpoint + --auto_resume continuing mid-epoch, the
repository's own dataset type on its own loader, its own model class trained."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import yaml

if importlib.util.find_spec("basicsr") is None:
    pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')", allow_module_level=True)

from tests.repos.toyhat import toyhat_with_data  # noqa: E402
from tests.test_basicsr_launcher import OPTIONS, reference_batches  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD_BASICSR = os.path.join(ROOT, ".venv", "basicsr-1.3.4.9")
VERSIONS = [
    pytest.param(None, id="basicsr-1.4.2"),
    pytest.param(OLD_BASICSR, id="basicsr-1.3.4.9", marks=pytest.mark.skipif(
        not os.path.isdir(os.path.join(OLD_BASICSR, "basicsr")),
        reason=f"basicsr 1.3.4.9 is not installed in {OLD_BASICSR} (bash tools/setup.sh installs it)")),
]


def toy_options(path, total_iter: int) -> str:
    """BasicSR's MSRResNet sample options with the repository's arch and model, and a val section of the
    repository's own dataset type."""
    with open(OPTIONS, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    opt.update(name="toyhat_x4", model_type="ToyHATModel", num_gpu=0)
    opt["network_g"] = {"type": "ToyNet", "num_feat": 8, "upscale": 4}
    opt["datasets"]["val_2"] = dict(opt["datasets"]["val"], name="ToyVal", type="ToyPairedDataset")
    opt["val"] = {"val_freq": 3, "save_img": False, "metrics": {"psnr": {"type": "calculate_psnr", "crop_border": 4}}}
    opt["logger"]["use_tb_logger"] = False
    opt["train"]["total_iter"] = total_iter
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(opt, f, sort_keys=False)
    return str(path)


def run(repo, basicsr_path, *args) -> tuple[subprocess.CompletedProcess, list[dict]]:
    record = repo / "record.jsonl"
    if record.exists():
        record.unlink()
    paths = ([basicsr_path] if basicsr_path else []) + [str(repo)] + sys.path  # the repository as if installed
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), TOYHAT_RECORD=str(record))
    result = subprocess.run([sys.executable, "-m", "dalisr", "run", *args], cwd=repo, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    lines = record.read_text().splitlines() if record.exists() else []
    return result, [json.loads(line) for line in lines]


@pytest.fixture
def repo(tmp_path, sample_set, monkeypatch):
    """The repository, with datasets/sample -> the sample set; the working directory (as for the options'
    relative data paths)."""
    root = toyhat_with_data(tmp_path / "repo", sample_set)
    monkeypatch.chdir(root)
    return root


@pytest.mark.parametrize("script", ["toyhat/train.py", "toyhat/train_own_loop.py"])
@pytest.mark.parametrize("basicsr_path", VERSIONS)
def test_repository_script_trains_validates_and_resumes_mid_epoch(repo, basicsr_path, script):
    expected, _ = reference_batches(epochs=3)
    result, records = run(repo, basicsr_path, script, "-opt", toy_options(repo / "a.yml", 3))
    log = result.stderr
    version = "1.3.4.9" if basicsr_path else "1.4.2"
    assert ("dalisr: datasets.val_2 (type ToyPairedDataset, registered by toyhat) stays on the repository's own "
            "dataset and loader (dalisr: false)") in log
    trained = [r for r in records if "iter" in r]
    assert [r["iter"] for r in trained] == [1, 2, 3]
    assert {(r["model"], r["basicsr"]) for r in trained} == {("toyhat.models.ToyHATModel", version)}
    assert [r["paths"] for r in trained] == expected[:3]
    validated = [(r["val"], r["loader"], r["dataset"]) for r in records if "val" in r]
    # (train_pipeline validates at iteration 3 and again at the end)
    assert validated[:2] == [("Set5", "DalisrBatches", "DalisrDataset"), ("ToyVal", "DataLoader", "ToyPairedDataset")]
    assert set(validated) == set(validated[:2])
    exp = repo / "experiments" / "toyhat_x4"  # the script's root_path: the repository's root
    assert (exp / "models" / "net_g_3.pth").exists() and (exp / "training_states" / "3.state").exists()

    # resumed: the rest of epoch 1 (one batch: 8 samples in batches of 3, the last partial one dropped), then epoch 2
    result, records = run(repo, basicsr_path, script, "-opt", toy_options(repo / "b.yml", 5), "--auto_resume")
    assert "dalisr: resuming epoch 1 at batch 1 of 2" in result.stderr
    trained = [r for r in records if "iter" in r]
    assert [r["iter"] for r in trained] == [4, 5]
    assert [r["paths"] for r in trained] == expected[3:5]
    assert len(set(expected[2] + trained[0]["paths"])) == 6  # the interrupted epoch: no sample twice


REALESRGAN_SCRIPT = '''
import json
import os
import os.path as osp

import torch

torch.nn.Module.cuda = lambda self, *args, **kwargs: self  # this test's CPU machine: RealESRNetModel calls .cuda()

import realesrgan.archs  # noqa: E402,F401
import realesrgan.data  # noqa: E402,F401
import realesrgan.models  # noqa: E402,F401
from basicsr.train import train_pipeline  # noqa: E402
from realesrgan.models.realesrnet_model import RealESRNetModel  # noqa: E402

optimize = RealESRNetModel.optimize_parameters


def recorded(self, current_iter):
    optimize(self, current_iter)
    with open(os.environ["TOYHAT_RECORD"], "a") as f:
        f.write(json.dumps({"iter": current_iter, "model": type(self).__module__ + "." + type(self).__name__}) + "\\n")


RealESRNetModel.optimize_parameters = recorded

if __name__ == "__main__":
    train_pipeline(osp.abspath(osp.join(__file__, osp.pardir, osp.pardir)))
'''


@pytest.mark.skipif(importlib.util.find_spec("realesrgan") is None, reason="realesrgan is not installed")
def test_realesrgan_script_trains_realesrgan_own_classes(repo):
    """A script importing the realesrgan package, as realesrgan/train.py does: its RealESRNetModel trains, not
    basicsr 1.4.2's RealESRNetModel_basicsr copy; its RealESRGANPairedDataset name stays served by dalisr."""
    os.makedirs(repo / "realesrgan_run")
    (repo / "realesrgan_run" / "train.py").write_text(REALESRGAN_SCRIPT)
    with open(OPTIONS, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    opt.update(name="realesrnet_x4", model_type="RealESRNetModel", num_gpu=0, high_order_degradation=False)
    opt["network_g"] = {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 8, "num_block": 1,
                        "num_grow_ch": 4, "scale": 4}
    opt["datasets"]["train"]["type"] = "RealESRGANPairedDataset"
    del opt["datasets"]["val_2"]
    opt["val"] = {"val_freq": 2, "save_img": False, "metrics": {"psnr": {"type": "calculate_psnr", "crop_border": 4}}}
    opt["logger"].update(use_tb_logger=False, save_checkpoint_freq=2)
    opt["train"].update(total_iter=2, ema_decay=0)
    (repo / "r.yml").write_text(yaml.safe_dump(opt, sort_keys=False))
    result, records = run(repo, None, "realesrgan_run/train.py", "-opt", "r.yml")
    assert [(r["iter"], r["model"]) for r in records] == [
        (1, "realesrgan.models.realesrnet_model.RealESRNetModel"),
        (2, "realesrgan.models.realesrnet_model.RealESRNetModel")]
    assert "use name: RealESRNetModel_basicsr" not in result.stdout + result.stderr
    assert ("dalisr: datasets.train (type RealESRGANPairedDataset) is served by dalisr (dalisr: true), not by the "
            "class of that name that realesrgan registers") in result.stderr
