"""tools/train_example.py under torchrun on the GPU (NCCL): the same batches as on the CPU, resumable."""

from __future__ import annotations

import pytest

from tests.test_distributed import config, read_log, torchrun  # noqa: F401 - config is a fixture

pytestmark = pytest.mark.gpu


def test_nccl_run_sees_the_cpu_run_batches(config, tmp_path):  # noqa: F811
    gpu_log, cpu_log = str(tmp_path / "gpu"), str(tmp_path / "cpu")
    torchrun("--config", config, "--epochs", "2", "--log-samples", gpu_log, nproc=1, device="gpu")
    torchrun("--config", config, "--epochs", "2", "--log-samples", cpu_log, nproc=1, device="cpu")
    gpu, cpu = read_log(gpu_log, ranks=1)[0], read_log(cpu_log, ranks=1)[0]
    assert len(gpu) == len(cpu) == 8  # 8 images, batch 2, 2 epochs
    assert [r["paths"] for r in gpu] == [r["paths"] for r in cpu]


def test_nccl_run_resumes_mid_epoch(config, tmp_path):  # noqa: F811
    full, part = str(tmp_path / "full"), str(tmp_path / "part")
    ckpt = str(tmp_path / "ckpt.pt")
    torchrun("--config", config, "--epochs", "2", "--log-samples", full, nproc=1, device="gpu")
    torchrun("--config", config, "--epochs", "2", "--log-samples", part, "--stop-after", "3", "--checkpoint", ckpt,
             nproc=1, device="gpu")
    torchrun("--config", config, "--epochs", "2", "--log-samples", part, "--resume", ckpt, nproc=1, device="gpu")
    assert [r["paths"] for r in read_log(part, ranks=1)[0]] == [r["paths"] for r in read_log(full, ranks=1)[0]]
