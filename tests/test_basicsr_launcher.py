"""`dalisr train`: BasicSR's real training pipeline (basicsr 1.4.2) on dalisr batches, on the CPU.

The option file is BasicSR's train_MSRResNet_x4.yml with only paths and sizes changed
(tests/data/train_MSRResNet_x4_sample.yml); the runs happen in this process (so a BasicSR
model subclass, registered the way BasicSR extensions are, can record which samples each
iteration trained on), in a temporary working directory that receives experiments/.
Where no real torchvision imports, tests/stubs/torchvision stands in (see conftest.py).
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import re

import pytest
import torch
import yaml
from click.testing import CliRunner

if importlib.util.find_spec("basicsr") is None:
    pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')", allow_module_level=True)

from dalisr import build_dataloader  # noqa: E402
from dalisr.cli import main  # noqa: E402
from dalisr.errors import DalisrError  # noqa: E402
from dalisr.integrations.basicsr.api import REBOUND, global_lookups  # noqa: E402
from dalisr.integrations.basicsr.importing import LEGACY_MODULE, import_basicsr  # noqa: E402
from dalisr.integrations.basicsr.launcher import BasicsrLauncher, length_for_basicsr  # noqa: E402
from dalisr.integrations.basicsr.resume import LOADER_STATES_KEY  # noqa: E402
from dalisr.integrations.basicsr.train_pipeline import basicsr_train_bound_to, run_training  # noqa: E402

import_basicsr()
import basicsr.train  # noqa: E402
from basicsr.models.sr_model import SRModel  # noqa: E402
from basicsr.utils.registry import MODEL_REGISTRY  # noqa: E402

OPTIONS = os.path.join(os.path.dirname(__file__), "data", "train_MSRResNet_x4_sample.yml")
CPU = ["num_gpu=auto", "logger:use_tb_logger=false"]


class RecordingSRModel(SRModel):
    """BasicSR's SRModel that notes which GT paths each training iteration used, and each val loader's type."""

    trained: list[tuple[int, list[str]]] = []
    validated: list[tuple[str, str]] = []

    def feed_data(self, data):
        super().feed_data(data)
        self._paths = list(data["gt_path"])

    def optimize_parameters(self, current_iter):
        super().optimize_parameters(current_iter)
        RecordingSRModel.trained.append((current_iter, self._paths))

    def validation(self, dataloader, current_iter, tb_logger, save_img=False):
        RecordingSRModel.validated.append((dataloader.dataset.opt["name"], type(dataloader).__name__))
        super().validation(dataloader, current_iter, tb_logger, save_img)


if "RecordingSRModel" not in MODEL_REGISTRY:
    MODEL_REGISTRY.register(RecordingSRModel)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def workdir(tmp_path, sample_set, monkeypatch):
    """A working directory with datasets/sample -> the sample set; BasicSR's experiments/ lands here."""
    os.makedirs(tmp_path / "datasets")
    os.symlink(sample_set.root, tmp_path / "datasets" / "sample")
    monkeypatch.chdir(tmp_path)
    RecordingSRModel.trained.clear()
    RecordingSRModel.validated.clear()
    records = Records()
    logging.getLogger("basicsr").addHandler(records)
    yield tmp_path, records
    logging.getLogger("basicsr").removeHandler(records)


def train(options: str, *force: str, auto_resume: bool = False) -> None:
    args = ["--auto_resume"] if auto_resume else []
    run_training(options, args + ["--force_yml", *CPU, "model_type=RecordingSRModel", *force])


def write_options(path, change) -> str:
    with open(OPTIONS, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    change(opt)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(opt, f, sort_keys=False)
    return str(path)


def reference_batches(epochs: int) -> tuple[list[list[str]], int]:
    """What dalisr hands out for the train section (BasicSR adds phase and scale), epoch after epoch."""
    with open(OPTIONS, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    section = dict(opt["datasets"]["train"], phase="train", scale=opt["scale"])
    with build_dataloader(section, device="cpu", shard_id=0, num_shards=1, seed=opt["manual_seed"]) as loader:
        batches = [list(b["gt_path"]) for _ in range(epochs) for b in loader]
        return batches, len(loader)


def test_basicsr_train_still_looks_up_the_rebound_names():
    """The day BasicSR renames or inlines one of these, rebinding them would silently do nothing."""
    assert hasattr(basicsr.train, "train_pipeline")
    lookups = global_lookups(basicsr.train)
    for name in REBOUND:
        assert hasattr(basicsr.train, name), name
        assert name in lookups, name
    originals = {n: getattr(basicsr.train, n) for n in REBOUND}
    launcher = BasicsrLauncher("x.yml")
    with basicsr_train_bound_to(launcher, basicsr.train, ["dalisr train"]):
        assert basicsr.train.build_dataset == launcher.build_dataset
        assert launcher.originals == originals
    assert {n: getattr(basicsr.train, n) for n in REBOUND} == originals


def test_functional_tensor_alias_serves_basicsr():
    import sys

    from basicsr.data import degradations
    from torchvision.transforms import functional

    legacy = sys.modules[LEGACY_MODULE]  # torchvision's own (< 0.17) or dalisr's alias
    img = torch.rand(2, 3, 5, 7)
    assert torch.allclose(legacy.rgb_to_grayscale(img), functional.rgb_to_grayscale(img))
    assert degradations.rgb_to_grayscale is legacy.rgb_to_grayscale


@pytest.mark.parametrize("samples,batches,batch,world,ratio,expected", [
    (8, 2, 3, 1, 1, 6),      # 2 samples dropped: BasicSR's ceil(8/3) = 3 would be wrong
    (8, 4, 2, 1, 1, 8),      # nothing dropped
    (10, 500, 2, 1, 100, 10),  # enlarged, nothing dropped
    (9, 4, 2, 1, 1, 8),
    (8, 1, 3, 2, 1, 6),      # 2 ranks: 4 each, one batch of 3 each
    (7, 43, 16, 1, 100, None),  # 700 samples, 12 dropped: no count fits BasicSR's formula (a warning is logged)
])
def test_length_for_basicsr_makes_basicsr_count_dalisr_batches(samples, batches, batch, world, ratio, expected):
    n = length_for_basicsr(samples, batches, batch, world, ratio)
    assert n == expected
    if n is not None:
        assert math.ceil(n * ratio / (batch * world)) == batches


def test_train_validate_checkpoint_and_resume_mid_epoch(workdir):
    tmp, records = workdir
    expected, per_epoch = reference_batches(epochs=4)
    # interrupted run: iterations 1-3, a checkpoint at 3 = epoch 1, batch 1 of 2
    train(OPTIONS, "train:total_iter=3", "val:save_img=true")
    text = records.text()
    assert f"Require iter number per epoch: {per_epoch}" in text
    assert f"Total epochs: {math.ceil(3 / per_epoch)}; iters: 3." in text
    assert "dalisr: datasets.train (type PairedImageDataset) is served by dalisr: 8 samples from gt: disk store" in text
    assert "dalisr: datasets.val_2 (type PairedImageDataset) is served by dalisr: 8 samples from gt: lmdb store" in text
    assert [it for it, _ in RecordingSRModel.trained] == [1, 2, 3]
    assert [paths for _, paths in RecordingSRModel.trained] == expected[:3]
    exp = tmp / "experiments" / "001_MSRResNet_x4_f64b16_DIV2K_1000k_B16G1_wandb"
    state = torch.load(exp / "training_states" / "3.state", weights_only=False)
    assert (state["epoch"], state["iter"]) == (1, 3)
    assert [(s["epoch"], s["batch"], s["num_shards"]) for s in state[LOADER_STATES_KEY]] == [(1, 1, 1)]
    assert (exp / "models" / "net_g_3.pth").exists()
    # validation ran on both val sections from dalisr, images named after BasicSR's lq_path
    assert RecordingSRModel.validated == [("Set5", "DalisrBatches"), ("Set14", "DalisrBatches")]
    assert re.search(r"Validation Set5\n\t # psnr: \d+\.\d+", text) and "Validation Set14" in text
    names = sorted(os.listdir(exp / "visualization"))
    assert len(names) == 8
    assert all(f.startswith(n + "_") for n in names for f in os.listdir(exp / "visualization" / n))

    # resumed run: the rest of epoch 1 (exactly one batch), then epochs 2 and 3, to iteration 7
    RecordingSRModel.trained.clear()
    records.lines.clear()
    train(OPTIONS, "val:val_freq=100", auto_resume=True)  # validate once, at the end
    text = records.text()
    assert "Resuming training from epoch: 1, iter: 3." in text
    assert f"Require iter number per epoch: {per_epoch}" in text and "Total epochs: 4; iters: 7." in text
    assert [it for it, _ in RecordingSRModel.trained] == [4, 5, 6, 7]
    resumed = [paths for _, paths in RecordingSRModel.trained]
    assert resumed == expected[3:7]
    interrupted_epoch = expected[2] + resumed[0]  # batch 0 before the stop, batch 1 after it
    assert sorted(interrupted_epoch) == sorted(expected[2] + expected[3]) and len(set(interrupted_epoch)) == 6
    state = torch.load(exp / "training_states" / "6.state", weights_only=False)
    assert [(s["epoch"], s["batch"]) for s in state[LOADER_STATES_KEY]] == [(2, 2)]


def test_dalisr_false_sections_use_basicsr_loader(workdir):
    tmp, records = workdir

    def change(opt):
        opt["datasets"]["train"]["dalisr"] = False
        opt["datasets"]["val_2"]["dalisr"] = False
        del opt["datasets"]["val"]
        opt["val"]["metrics"] = {"psnr": opt["val"]["metrics"]["psnr"]}

    options = write_options(tmp / "opts.yml", change)
    train(options, "train:total_iter=2")
    text = records.text()
    # BasicSR's own arithmetic (it keeps the last partial batch in its count), no dalisr line
    assert "Number of train images: 8" in text and "Require iter number per epoch: 3" in text
    assert "each epoch uses" not in text
    assert "datasets.train (type PairedImageDataset) stays on its own dataset and loader (dalisr: false)" in text
    assert RecordingSRModel.validated == [("Set14", "DataLoader")]
    assert len(RecordingSRModel.trained) == 2 and all(len(p) == 3 for _, p in RecordingSRModel.trained)


def test_unsupported_option_names_option_file_and_fix(workdir):
    tmp, _ = workdir

    def change(opt):
        opt["datasets"]["val"]["type"] = "MyOwnDataset"  # a user's own BasicSR dataset class

    options = write_options(tmp / "custom.yml", change)
    result = CliRunner().invoke(main, ["train", "-opt", options, "--force_yml", *CPU])
    assert result.exit_code == 1, result.output
    assert "'type' in options file" in result.output and "custom.yml (datasets.val)" in result.output
    assert "MyOwnDataset" in result.output
    assert "set 'dalisr: false' in datasets.val" in result.output

    def bad_flag(opt):
        opt["datasets"]["val"]["dalisr"] = "no"

    with pytest.raises(DalisrError, match=r"'dalisr' in options file .*flag.yml \(datasets.val\) must be true"):
        train(write_options(tmp / "flag.yml", bad_flag))


def test_pipelines_edsr_sample_file_trains(workdir):
    options = os.path.join(os.path.dirname(OPTIONS), "..", "..", "pipelines", "edsr_div2k_x4_sample.yml")
    run_training(os.path.abspath(options), ["--force_yml", "train:total_iter=2", "model_type=RecordingSRModel"])
    text = workdir[1].text()
    assert "Network [EDSR] is created." in text
    assert [it for it, _ in RecordingSRModel.trained] == [1, 2]
    assert re.search(r"Validation Set5_sample\n\t # psnr: \d+\.\d+", text)


def test_resume_gives_each_rank_its_own_loader_position(sample_set):
    """A 2-rank resume state: rank 1's loader takes rank 1's saved position; another world size is refused."""
    section = {"name": "DIV2K", "type": "PairedImageDataset", "phase": "train", "scale": 4,
               "dataroot_gt": sample_set.gt_folder, "dataroot_lq": sample_set.lq_folder(4),
               "io_backend": {"type": "disk"}, "gt_size": 64, "batch_size_per_gpu": 2, "num_worker_per_gpu": 1}
    saved = []
    for rank in (0, 1):
        with build_dataloader(section, device="cpu", shard_id=rank, num_shards=2, seed=3) as loader:
            loader.set_epoch(1)
            next(iter(loader))
            saved.append(loader.state_dict())
    saved[1]["batch"] = 0  # the ranks' positions differ, so taking the wrong one shows
    launcher = BasicsrLauncher("opts.yml")
    launcher.opt = {"datasets": {"train": section}, "rank": 1, "world_size": 2, "manual_seed": 3, "num_gpu": 0}
    launcher.resume_state = {"epoch": 0, "iter": 5, LOADER_STATES_KEY: saved}
    dataset = launcher.build_dataset(section)
    try:
        assert (dataset.loader.epoch, dataset.loader.batch) == (1, 0)
        assert launcher.resume_state["epoch"] == 1  # where BasicSR's epoch loop starts
    finally:
        launcher.close()
    launcher.opt["world_size"] = 4
    with pytest.raises(DalisrError, match="loader positions of 2 ranks, this run has 4"):
        launcher.build_dataset(section)
    launcher.close()


def test_gather_collects_every_rank_in_order(tmp_path):
    """The collective behind the resume state, with 2 real gloo processes under torchrun."""
    import subprocess
    import sys

    script = tmp_path / "gather.py"
    script.write_text(
        "import json, sys, torch.distributed as dist\n"
        "from dalisr.integrations.ranks import gather\n"
        "dist.init_process_group('gloo')\n"
        "states = gather({'rank': dist.get_rank(), 'batch': 10 + dist.get_rank()})\n"
        "if dist.get_rank() == 0:\n"
        "    open(sys.argv[1], 'w').write(json.dumps(states))\n"
        "dist.destroy_process_group()\n")
    out = tmp_path / "states.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    from tests.conftest import free_port

    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                    "127.0.0.1", "--master_port", str(free_port()), str(script), str(out)],
                   env=env, check=True, capture_output=True, timeout=120)
    import json

    assert json.loads(out.read_text()) == [{"rank": 0, "batch": 10}, {"rank": 1, "batch": 11}]


def test_video_models_validate_from_basicsr_loader(sample_set, caplog):
    """BasicSR's video models read val samples as dataset[i]: their val sections stay with BasicSR."""
    section = {"name": "Set5", "type": "PairedImageDataset", "phase": "val", "scale": 4,
               "dataroot_gt": sample_set.gt_folder, "dataroot_lq": sample_set.lq_folder(4),
               "io_backend": {"type": "disk"}}
    launcher = BasicsrLauncher("opts.yml")
    launcher.originals = {"build_dataset": basicsr.data.build_dataset}
    launcher.opt = {"datasets": {"val": section}, "rank": 0, "world_size": 1, "manual_seed": 0, "num_gpu": 0,
                    "model_type": "VideoRecurrentModel"}
    with caplog.at_level(logging.WARNING, logger="basicsr.dalisr"):
        dataset = launcher.build_dataset(section)
    assert type(dataset).__name__ == "PairedImageDataset" and len(dataset) == 8
    assert "datasets.val is loaded by BasicSR's own loader" in caplog.text
    launcher.opt["model_type"] = "SRModel"
    dataset = launcher.build_dataset(section)
    assert type(dataset).__name__ == "DalisrDataset" and len(dataset) == 8
    launcher.close()
