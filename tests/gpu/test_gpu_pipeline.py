"""The GPU (``mixed``) path: same batches as the CPU path, tensors on the CUDA device."""

from __future__ import annotations

import pytest
import torch

from dalisr import build_dataloader

pytestmark = pytest.mark.gpu


def _opt(sample_set, **extra):
    o = {"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb, "dataroot_lq": sample_set.lq_lmdb(4),
         "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4, "use_hflip": True, "use_rot": True,
         "batch_size_per_gpu": 4, "num_worker_per_gpu": 2, "mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.5]}
    o.update(extra)
    return o


def test_gpu_batches_match_cpu_batches_and_live_on_cuda(sample_set):
    cpu = build_dataloader(_opt(sample_set), device="cpu", seed=5)
    expected = list(cpu)
    cpu.close()
    gpu = build_dataloader(_opt(sample_set), device="gpu", seed=5)
    got = list(gpu)
    gpu.close()
    assert len(got) == len(expected) == 2
    for a, b in zip(got, expected):
        assert a["gt"].is_cuda and a["lq"].is_cuda
        assert a["gt_path"] == b["gt_path"]
        torch.testing.assert_close(a["gt"].cpu(), b["gt"], atol=1e-5, rtol=0)
        torch.testing.assert_close(a["lq"].cpu(), b["lq"], atol=1e-5, rtol=0)


def test_gpu_val_phase_and_color_y(sample_set):
    gpu = build_dataloader(_opt(sample_set, phase="val", color="y", mean=None, std=None, batch_size_per_gpu=1),
                           device="gpu")
    cpu = build_dataloader(_opt(sample_set, phase="val", color="y", mean=None, std=None, batch_size_per_gpu=1),
                           device="cpu")
    a, b = next(iter(gpu)), next(iter(cpu))
    gpu.close()
    cpu.close()
    assert a["gt"].shape == (1, 1, 480, 480)
    torch.testing.assert_close(a["gt"].cpu(), b["gt"], atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def converted(sample_set, tmp_path_factory):
    """The sample LMDBs as raw (pixels moved to the GPU with .gpu()), lossless JPEG 2000 (nvJPEG2000), png-seek."""
    from dalisr.prep.convert import convert_lmdb

    root = tmp_path_factory.mktemp("gpu_codecs")
    out = {}
    for codec in ("raw", "jp2", "png-seek"):
        gt, lq = str(root / f"gt_{codec}.lmdb"), str(root / f"lq_{codec}.lmdb")
        convert_lmdb(sample_set.gt_lmdb, gt, codec)
        convert_lmdb(sample_set.lq_lmdb(4), lq, codec)
        out[codec] = (gt, lq)
    return out


@pytest.mark.parametrize("codec", ["raw", "jp2", "png-seek"])
def test_gpu_codecs_give_the_png_batches(sample_set, converted, codec):
    cpu = build_dataloader(_opt(sample_set), device="cpu", seed=9)
    expected = list(cpu)
    cpu.close()
    gt, lq = converted[codec]
    gpu = build_dataloader(_opt(sample_set, dataroot_gt=gt, dataroot_lq=lq), device="gpu", seed=9)
    got = list(gpu)
    gpu.close()
    assert len(got) == len(expected) == 2
    for a, b in zip(got, expected):
        assert a["gt"].is_cuda and a["gt_path"] == b["gt_path"]
        torch.testing.assert_close(a["gt"].cpu(), b["gt"], atol=1e-5, rtol=0)
        torch.testing.assert_close(a["lq"].cpu(), b["lq"], atol=1e-5, rtol=0)
