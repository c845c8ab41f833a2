"""The ways a repository's classes come in (`dalisr run`, `dalisr train --import`) and the errors when they do
not: a registry miss, `dalisr: true` on a repository's own dataset type, an unsupported basicsr, no -opt."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

if importlib.util.find_spec("basicsr") is None:
    pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')", allow_module_level=True)

from dalisr.cli import main  # noqa: E402
from dalisr.integrations.basicsr.api import MODULE_NAMES  # noqa: E402
from dalisr.integrations.basicsr.data_modules import basicsr_modules_bound_to  # noqa: E402
from dalisr.integrations.basicsr.importing import check_version, import_basicsr  # noqa: E402
from dalisr.integrations.basicsr.launcher import BasicsrLauncher  # noqa: E402
from dalisr.integrations.scripts import options_file_of  # noqa: E402
from tests.repos.toyhat import toyhat_with_data  # noqa: E402
from tests.test_run_script import toy_options  # noqa: E402


@pytest.fixture
def repo(tmp_path, sample_set, monkeypatch):
    root = toyhat_with_data(tmp_path / "repo", sample_set)
    monkeypatch.chdir(root)
    return root


def dalisr(repo_dir, *args) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """`python -m dalisr ARGS` in the repository's root, the repository not installed (not on PYTHONPATH)."""
    record = repo_dir / "record.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p != str(repo_dir)),
               TOYHAT_RECORD=str(record))
    result = subprocess.run([sys.executable, "-m", "dalisr", *args], cwd=repo_dir, env=env, capture_output=True,
                            text=True, timeout=600)
    lines = record.read_text().splitlines() if record.exists() else []
    return result, [json.loads(line) for line in lines]


def without_val_2(path) -> str:
    opt = yaml.safe_load(open(path, encoding="utf-8"))
    del opt["datasets"]["val_2"]
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(opt, f, sort_keys=False)
    return str(path)


def test_train_without_the_repository_names_the_class_and_both_ways_in(repo):
    result, _ = dalisr(repo, "train", "-opt", without_val_2(toy_options(repo / "a.yml", 1)))
    assert result.returncode == 1, result.stderr[-3000:]
    assert "registry has no class named 'ToyHATModel'" in result.stderr
    assert "dalisr run path/to/train.py -opt X.yml" in result.stderr and "--import PKG" in result.stderr
    assert "Traceback" not in result.stderr
    # the repository's own dataset type, unknown until its package is imported
    result, _ = dalisr(repo, "train", "-opt", toy_options(repo / "b.yml", 1))
    assert result.returncode == 1 and "'ToyPairedDataset' is not supported" in result.stderr
    assert "dalisr run path/to/train.py or dalisr train --import PKG" in result.stderr


def test_train_import_brings_the_repository_classes_in(repo):
    result, records = dalisr(repo, "train", "-opt", toy_options(repo / "a.yml", 2), "--import", "toyhat.archs",
                             "--import", "toyhat.models", "--import", "toyhat.data")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [(r["iter"], r["model"]) for r in records if "iter" in r] == [
        (1, "toyhat.models.ToyHATModel"), (2, "toyhat.models.ToyHATModel")]
    assert "dalisr: datasets.val_2 (type ToyPairedDataset, registered by toyhat) stays on the repository's" \
        in result.stderr
    result, _ = dalisr(repo, "train", "-opt", "a.yml", "--import", "nothere")
    assert result.returncode == 1 and "--import nothere: No module named 'nothere'" in result.stderr


def test_dalisr_true_on_a_repository_dataset_type_is_refused(repo):
    options = toy_options(repo / "a.yml", 1)
    opt = yaml.safe_load(open(options, encoding="utf-8"))
    opt["datasets"]["val_2"]["dalisr"] = True
    (repo / "a.yml").write_text(yaml.safe_dump(opt, sort_keys=False))
    result, _ = dalisr(repo, "run", "toyhat/train.py", "-opt", "a.yml")
    assert result.returncode == 1
    assert "a.yml (datasets.val_2): 'dalisr: true' on type ToyPairedDataset, which toyhat registers" in result.stderr
    assert "remove 'dalisr: true'" in result.stderr


def test_run_needs_the_options_file_among_the_script_arguments(tmp_path):
    assert options_file_of(["-opt", "x.yml", "--auto_resume"]) == "x.yml"
    assert options_file_of(["--launcher", "pytorch", "--opt=y.yml"]) == "y.yml"
    script = tmp_path / "train.py"
    script.write_text("raise SystemExit('not run')\n")
    result = CliRunner().invoke(main, ["run", str(script), "--auto_resume"])
    assert result.exit_code == 1 and "no -opt OPTIONS.yml among the script's arguments (--auto_resume)" \
        in result.output


def test_untested_basicsr_versions_are_named_in_a_warning_not_refused():
    for version in ("1.4.2", "1.3.4.9", "1.4.0"):
        assert check_version(version, "site-packages") is None
    for version in ("1.3.2", "1.5.0", "2.0", "x", None):
        warning = check_version(version, "/repo/basicsr")
        assert f"basicsr {version or 'unknown'} at /repo/basicsr is " in warning
        assert "the tested range >=1.3.4.9,<1.5" in warning and "the run goes on" in warning


def test_help_explains_both_ways_in():
    for command in ("run", "train"):
        text = CliRunner().invoke(main, [command, "--help"]).output
        assert "dalisr run hat/train.py -opt X.yml" in text, command
        assert "--import" in text, command


def test_basicsr_modules_still_hold_the_names_a_script_loop_imports():
    """The day BasicSR moves one of these, a script's own loop would import BasicSR's original and silently
    bypass dalisr: the rebinding refuses instead, and restores everything afterwards."""
    import_basicsr()
    originals = {(m, n): getattr(importlib.import_module(m), n) for m, names in MODULE_NAMES for n in names}
    launcher = BasicsrLauncher("x.yml")
    with basicsr_modules_bound_to(launcher):
        from basicsr.data import build_dataset
        from basicsr.data.prefetch_dataloader import CPUPrefetcher

        assert build_dataset == launcher.build_dataset and CPUPrefetcher == launcher.CPUPrefetcher
    assert {(m, n): getattr(importlib.import_module(m), n) for m, names in MODULE_NAMES for n in names} == originals


def test_script_runs_as_python_would_also_under_torchrun(tmp_path):
    """Each rank runs the script as `python SCRIPT ARGS` would: __main__, __file__, sys.argv, its folder first on
    sys.path. (BasicSR's own init_dist needs CUDA, so a CPU test stops short of training under torchrun.)"""
    from tests.conftest import free_port

    folder = tmp_path / "repo" / "tool"
    folder.mkdir(parents=True)
    (folder / "train.py").write_text(
        "import json, os, sys\n"
        "out = os.path.join(os.path.dirname(os.path.abspath(__file__)), f\"seen{os.environ.get('RANK', '')}.json\")\n"
        "json.dump({'name': __name__, 'file': __file__, 'argv': sys.argv, 'path0': sys.path[0]}, open(out, 'w'))\n")
    args = ["tool/train.py", "-opt", "x.yml", "--launcher", "pytorch"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                    "127.0.0.1", "--master_port", str(free_port()), "-m", "dalisr", "run", *args],
                   cwd=tmp_path / "repo", env=env, check=True, capture_output=True, timeout=300)
    for rank in (0, 1):
        seen = json.loads((folder / f"seen{rank}.json").read_text())
        script = str(folder / "train.py")  # absolute, as python 3.9+ makes __main__'s __file__ (runpy: argv[0] too)
        assert seen == {"name": "__main__", "file": script, "argv": [script, *args[1:]], "path0": str(folder)}


@pytest.mark.skipif(importlib.util.find_spec("realesrgan") is None, reason="realesrgan is not installed")
def test_served_same_name_type_keeps_the_repository_class_semantics(sample_set, monkeypatch, tmp_path):
    """Real-ESRGAN registers its own RealESRGANDataset (HAT a copy of it); dalisr keeps serving that type. Its
    batches carry what the repository's class hands its model, per sample: the same keys, shapes and dtypes."""
    import torch

    import_basicsr()
    from realesrgan.data.realesrgan_dataset import RealESRGANDataset

    from dalisr import build_dataloader

    pipelines = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pipelines")
    opt = yaml.safe_load(open(os.path.join(pipelines, "realesrnet_x4plus_sample.yml"), encoding="utf-8"))
    section = dict(opt["datasets"]["train"], phase="train", scale=4,
                   dataroot_gt=sample_set.root + "/DIV2K_train_HR_sub.lmdb", meta_info=None)
    # their reader on a copy: py-lmdb opens an environment once per process, and dalisr's may be open already
    theirs_root = shutil.copytree(section["dataroot_gt"], tmp_path / "gt.lmdb")
    theirs = RealESRGANDataset(dict(copy.deepcopy(section), dataroot_gt=str(theirs_root)))[0]  # pops io_backend.type
    with build_dataloader(dict(section, batch_size_per_gpu=2), device="cpu", seed=0) as loader:
        ours = next(iter(loader))
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        if isinstance(value, torch.Tensor):
            assert (tuple(ours[key].shape[1:]), ours[key].dtype) == (tuple(value.shape), value.dtype), key
        else:
            assert isinstance(ours[key][0], type(value)), key
