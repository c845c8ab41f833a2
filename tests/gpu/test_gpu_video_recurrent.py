"""The GPU (``mixed``) path for several GT frames per sample (REDSRecurrentDataset) and whole val clips."""

from __future__ import annotations

import pytest
import torch

from dalisr import build_dataloader
from tests.test_video_recurrent import reds, reds_opt  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.gpu


def _both(o):
    out = []
    for device in ("cpu", "gpu"):
        loader = build_dataloader(o, device=device, seed=3)
        out.append(list(loader))
        loader.close()
    return out


def test_gpu_recurrent_batches_match_cpu(reds):  # noqa: F811
    cpu, gpu = _both(reds_opt(reds))
    assert len(cpu) == len(gpu) == 7
    for a, b in zip(gpu, cpu):
        assert a["gt"].is_cuda and a["lq"].is_cuda and a["key"] == b["key"]
        torch.testing.assert_close(a["gt"].cpu(), b["gt"], atol=1e-5, rtol=0)
        torch.testing.assert_close(a["lq"].cpu(), b["lq"], atol=1e-5, rtol=0)


def test_gpu_whole_clips_match_cpu(reds):  # noqa: F811
    o = {"type": "VideoRecurrentTestDataset", "dataroot_gt": reds["gt"], "dataroot_lq": reds["lq"],
         "io_backend": {"type": "disk"}, "scale": 4, "phase": "val", "num_frame": -1, "num_worker_per_gpu": 1}
    cpu, gpu = _both(o)
    assert [b["folder"] for b in gpu] == [["000"], ["001"], ["002"], ["011"], ["240"]]
    for a, b in zip(gpu, cpu):
        assert a["lq"].shape == b["lq"].shape and a["lq"].shape[1] in (9, 10)
        torch.testing.assert_close(a["gt"].cpu(), b["gt"], atol=1e-5, rtol=0)
