"""The loader with ``degradation:``: degraded pairs from the sample set, reproducible, resumable, configurable."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import yaml

from dalisr import build_dataloader
from dalisr.errors import DalisrError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTIONS = os.path.join(ROOT, "pipelines", "realesrnet_x4plus_sample.yml")


def options(sample_set, workers: int = 0, block=True, **top) -> dict:
    """Real-ESRNet x4plus's sample option file (degradation options at its top level) on the sample set."""
    with open(OPTIONS, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    train = opt["datasets"]["train"]
    train.update(dataroot_gt=sample_set.gt_lmdb, batch_size_per_gpu=4, num_worker_per_gpu=workers,
                 num_threads=1, degradation=block)
    opt["datasets"] = {"train": train}
    opt.update(top)
    return opt


def batches(opt, n: int = 2, seed: int = 0) -> list[dict]:
    with build_dataloader(opt, device="cpu", seed=seed) as loader:
        out = []
        for b in loader:
            out.append(b)
            if len(out) == n:
                break
        return out


def test_batches_hold_degraded_pairs(sample_set):
    (b,) = batches(options(sample_set), n=1)
    assert set(b) == {"lq", "gt", "gt_path"}
    assert b["lq"].shape == (4, 3, 64, 64) and b["gt"].shape == (4, 3, 256, 256)
    assert b["lq"].dtype == torch.float32 and 0 <= b["lq"].min() and b["lq"].max() <= 1
    levels = b["lq"] * 255
    assert (levels - levels.round()).abs().max() < 1e-3  # rounded as Real-ESRGAN rounds its LQ
    # the LQ is a degraded view of the GT patch: correlated with its downscale, not equal to it
    down = torch.nn.functional.interpolate(b["gt"], size=(64, 64), mode="area")
    for j in range(4):
        corr = np.corrcoef(down[j].flatten().numpy(), b["lq"][j].flatten().numpy())[0, 1]
        assert 0.5 < corr < 0.9999, corr


def test_same_seed_same_pairs_any_worker_count(sample_set):
    """Every draw, noise included, is a function of (seed, epoch, position): workers do not change it."""
    a = batches(options(sample_set, workers=0))
    b = batches(options(sample_set, workers=2))
    for x, y in zip(a, b):
        assert torch.equal(x["lq"], y["lq"]) and torch.equal(x["gt"], y["gt"])
    c = batches(options(sample_set), seed=1)
    assert not torch.equal(a[0]["lq"], c[0]["lq"])


def test_resume_continues_with_the_same_pairs(sample_set):
    opt = options(sample_set)
    full = batches(opt, n=2)
    with build_dataloader(opt, device="cpu") as loader:
        it = iter(loader)
        next(it)
        state = loader.state_dict()
    with build_dataloader(opt, device="cpu") as loader:
        loader.load_state_dict(state)
        resumed = next(iter(loader))
    assert torch.equal(resumed["lq"], full[1]["lq"]) and torch.equal(resumed["gt"], full[1]["gt"])


def test_gt_plain_and_gt_usm(sample_set):
    (b,) = batches(options(sample_set, block={"gt_plain": True}), n=1)
    assert b["gt_plain"].shape == b["gt"].shape
    assert not torch.equal(b["gt"], b["gt_plain"])  # gt is USM-sharpened
    (c,) = batches(options(sample_set, block={"gt_plain": True, "gt_usm": False}), n=1)
    assert torch.equal(c["gt"], c["gt_plain"])
    assert torch.equal(c["gt_plain"], b["gt_plain"])  # the same draws either way


def test_options_come_from_block_then_top_level(sample_set, tmp_path):
    path = tmp_path / "opt.yml"
    opt = options(sample_set, block={"jpeg_range2": [70, 80]}, noise_range=[2, 3], gt_size=128)
    path.write_text(yaml.safe_dump(opt))
    with build_dataloader(str(path), device="cpu") as loader:
        d = loader.dataset.degradation
        assert d.first.noise_range == (2.0, 3.0) and d.second.jpeg_range == (70.0, 80.0) and d.gt_size == 128
        assert d.second.noise_range == (1.0, 25.0)  # the file's own value
        assert next(iter(loader))["lq"].shape == (4, 3, 32, 32)


def test_degradation_needs_realesrgan_dataset(sample_set):
    opt = {"name": "x", "type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb,
           "dataroot_lq": sample_set.lq_lmdb(4), "io_backend": {"type": "lmdb"}, "scale": 4, "gt_size": 128,
           "degradation": True, "phase": "train"}
    with pytest.raises(DalisrError, match="degradation.*RealESRGANDataset"):
        build_dataloader(opt, device="cpu")
    with pytest.raises(DalisrError, match="noise_rang"):
        build_dataloader(options(sample_set, block={"noise_rang": [1, 2]}), device="cpu")
