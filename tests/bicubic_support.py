"""Shared by the BicubicFromGT tests: the ImageNet-like sample, option dicts, and the loader's items set beside
HAT's reference (tests/bicubic_reference.py) at the crop and flips dalisr drew for each sample."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from dalisr import build_dataloader
from dalisr.sampling import sample_draws, window_anchor
from tests.bicubic_reference import hat_item

SEED = 11
GT_SIZES = {2: 128, 3: 192, 4: 256}  # HAT's ImageNet option files: 64 px LQ patches


def imagenet_opt(sample, scale: int, phase: str = "train", **extra) -> dict:
    opt = {"type": "ImageNetPairedDataset", "dataroot_gt": sample.gt_folder, "meta_info_file": sample.meta_info_file,
           "io_backend": {"type": "disk"}, "scale": scale, "gt_size": GT_SIZES[scale], "use_hflip": True,
           "use_rot": True, "phase": phase, "batch_size_per_gpu": 4 if phase == "train" else 1,
           "num_worker_per_gpu": 1}
    opt.update(extra)
    return opt


def lq_size(height: int, width: int, scale: int, gt_size: int | None) -> tuple[int, int]:
    """The whole LQ's size as HAT makes it (modcrop, then at least gt_size on each side)."""
    h, w = height - height % scale, width - width % scale
    if gt_size:
        h, w = max(h, gt_size), max(w, gt_size)
    return h // scale, w // scale


def read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def pairs_beside_reference(opt: dict, epochs: int = 1, read: Callable[[str], bytes] = read_file,
                           device: str = "cpu") -> Iterator[tuple[str, dict, dict]]:
    """(gt_path, dalisr's item, HAT's item) for every sample the loader hands out, CHW float32 numpy;
    ``read(gt_path)`` gives the bytes HAT's class would read for it."""
    import cv2

    train = opt.get("phase", "train") == "train"
    scale, gt_size = opt["scale"], opt.get("gt_size")
    ref_kw = {"use_hflip": opt.get("use_hflip", False), "use_rot": opt.get("use_rot", False),
              "color_y": opt.get("color") == "y", "mean": opt.get("mean"), "std": opt.get("std")}
    with build_dataloader(opt, device=device, seed=SEED) as loader:
        for epoch in range(epochs):
            for b, batch in enumerate(loader):
                for j, path in enumerate(batch["gt_path"]):
                    data = read(path)
                    fractions, flips = sample_draws(SEED, epoch, loader.plan.position(b, j))
                    top_left = (0, 0)
                    if train:
                        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                        lq_h, lq_w = lq_size(*img.shape[:2], scale, gt_size)
                        top_left = window_anchor(fractions, lq_h, lq_w, gt_size // scale)
                    ref = hat_item(data, scale=scale, gt_size=gt_size, train=train, top_left=top_left,
                                   flips=tuple(int(f) for f in flips), **ref_kw)
                    ours = {k: batch[k][j].cpu().numpy() for k in ("gt", "lq")}
                    yield path, ours, ref


def max_diff(ours: dict, ref: dict) -> float:
    """The largest |dalisr - HAT| over GT and LQ (inf where the shapes differ)."""
    worst = 0.0
    for key in ("gt", "lq"):
        if ours[key].shape != ref[key].shape:
            return float("inf")
        worst = max(worst, float(np.abs(ours[key] - ref[key]).max()))
    return worst
