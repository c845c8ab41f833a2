"""`dalisr train` on a GPU: BasicSR's pipeline under torchrun (--launcher pytorch, NCCL), CUDA prefetch mode,
a checkpoint mid-epoch and --auto_resume from it (the CPU twin: tests/test_basicsr_launcher.py)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.gpu

if importlib.util.find_spec("basicsr") is None:
    pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')", allow_module_level=True)

OPTIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "train_MSRResNet_x4_sample.yml")


def torchrun(cwd, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), *sys.path]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "1", "--master_port", "29561",
           "-m", "dalisr", "train", "-opt", OPTIONS, "--launcher", "pytorch",
           "--force_yml", "logger:use_tb_logger=false", "datasets:train:prefetch_mode=cuda",
           "datasets:train:pin_memory=true", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_gpu_torchrun_train_checkpoint_and_resume(sample_set, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    os.makedirs(tmp_path / "datasets")
    os.symlink(sample_set.root, tmp_path / "datasets" / "sample")
    first = torchrun(tmp_path, "train:total_iter=3")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    exp = tmp_path / "experiments" / "001_MSRResNet_x4_f64b16_DIV2K_1000k_B16G1_wandb"
    state = torch.load(exp / "training_states" / "3.state", map_location="cpu", weights_only=False)
    assert [(s["epoch"], s["batch"]) for s in state["dalisr_loaders"]] == [(1, 1)]
    second = torchrun(tmp_path, "--auto_resume")
    out = second.stdout + second.stderr
    assert second.returncode == 0, out[-3000:]
    assert "Resuming training from epoch: 1, iter: 3." in out and "dalisr: resuming epoch 1 at batch 1 of 2" in out
    assert "Validation Set5" in out and (exp / "models" / "net_g_latest.pth").exists()
