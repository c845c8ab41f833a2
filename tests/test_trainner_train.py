"""traiNNer-redux's training semantics through dalisr: aligned crops, its flip and rotation distribution, its
GT-only types (black crop-or-pad to gt_size + 32, rotation whatever use_rot says, kernel_range), color: y."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import torch

from dalisr.sampling import rotated_always, sample_draws

from .trainner_data import SCALE, batches, make_trainner_tree
from .trainner_reference import as_float, read, y_levels


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_trainner_tree(str(tmp_path_factory.mktemp("trainner")))


# -- orientations -----------------------------------------------------------------------------------------------
def trainner_augment(img: np.ndarray, h: int, v: int, r: int) -> np.ndarray:
    """Its augment on an HWC array: flip left-right, then upside down, then rotate 90 degrees clockwise."""
    if h:
        img = img[:, ::-1]
    if v:
        img = img[::-1]
    if r:
        img = np.rot90(img, k=-1)
    return img


def basicsr_augment(img: np.ndarray, h: int, v: int, t: int) -> np.ndarray:
    """The order dalisr's graph applies its bits in: left-right, upside down, transpose."""
    if h:
        img = img[:, ::-1]
    if v:
        img = img[::-1]
    if t:
        img = img.transpose(1, 0, *range(2, img.ndim))
    return img


ORIENTATIONS = list(itertools.product((0, 1), repeat=3))


def test_rotated_always_gives_its_orientations():
    """The bits dalisr applies for traiNNer-redux's GT-only types give the very array its augment gives."""
    img = np.arange(2 * 3 * 1).reshape(2, 3, 1)
    for (h, v, r), use_hflip, use_rot in itertools.product(ORIENTATIONS, (False, True), (False, True)):
        want = trainner_augment(img, h and use_hflip, v and use_rot, r)
        bits = rotated_always(np.array([h, v, r]), use_hflip, use_rot)
        assert np.array_equal(basicsr_augment(img, *bits), want)


@pytest.mark.parametrize("use_rot", [True, False])
def test_orientation_distribution_is_its(use_rot):
    """Over 4000 samples' draws: use_rot on, the eight orientations equally likely (as its paired augment and
    BasicSR's); off, its GT-only types give four (no flip, left-right, and each rotated) a quarter each."""
    img = np.arange(6).reshape(2, 3, 1)
    seen: dict[bytes, int] = {}
    for position in range(4000):
        _, flips = sample_draws(0, 0, position)
        out = basicsr_augment(img, *rotated_always(flips, True, use_rot))
        key = out.tobytes() + bytes(out.shape)
        seen[key] = seen.get(key, 0) + 1
    assert len(seen) == (8 if use_rot else 4)
    expected = 4000 / len(seen)
    assert all(abs(n - expected) < 5 * np.sqrt(expected) for n in seen.values()), seen


# -- paired crops -----------------------------------------------------------------------------------------------
def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal pixels: 8-bit values widened to 16 bits and scaled back differ from value / 255 by a float rounding."""
    return a.shape == b.shape and bool(np.abs(a - b).max() <= 1e-6)


def _find(patch: np.ndarray, image: np.ndarray) -> set[tuple[int, int, int, int, int]]:
    """Every (h, v, t, top, left) with ``patch == basicsr_augment(image[top:, left:] window)``."""
    p = patch.shape[0]
    found = set()
    for top in range(image.shape[0] - p + 1):
        for left in range(image.shape[1] - p + 1):
            win = image[top:top + p, left:left + p]
            for bits in ORIENTATIONS:
                if _close(basicsr_augment(win, *bits), patch):
                    found.add((*bits, top, left))
    return found


def test_train_crops_are_aligned_and_flipped_alike(tree):
    """Each LQ patch is a window of its LQ file (as its reader reads it) under one orientation; the GT patch is
    the GT window at scale x its position under the same orientation. 16-bit pairs stay 16-bit."""
    section = tree.section("train", lq_size=12, batch_size_per_gpu=7, bit_depth=16)
    (batch,) = batches(section, 1)
    checked = 0
    for j in range(7):
        lq_ref, gt_ref = (as_float(read(batch[f"{r}_path"][j])) for r in ("lq", "gt"))
        lq = batch["lq"][j].numpy().transpose(1, 2, 0)
        gt = batch["gt"][j].numpy().transpose(1, 2, 0)
        if "/d.png" in batch["gt_path"][j]:  # 16-bit gray: libvips' sRGB transform is within a 16-bit level
            continue
        placements = _find(lq, lq_ref)
        assert placements, batch["lq_path"][j]
        ok = [(h, v, t, top, left) for h, v, t, top, left in placements
              if _close(basicsr_augment(gt_ref[top * SCALE:(top + 12) * SCALE,
                                               left * SCALE:(left + 12) * SCALE], h, v, t), gt)]
        assert ok, batch["gt_path"][j]
        checked += 1
    assert checked >= 5


# -- GT-only types ------------------------------------------------------------------------------------------------
def _gt_section(tree, kind: str, **extra) -> dict:
    return {"name": kind, "type": kind, "dataroot_gt": tree.gt, "lq_size": 24, "batch_size_per_gpu": 7,
            "num_worker_per_gpu": 0, "phase": "train", **extra}


def test_realesrgandataset_pads_black_to_gt_size_plus_32_and_draws_its_kernels(tree):
    section = _gt_section(tree, "realesrgandataset", kernel_range=[3, 9], kernel_range2=[5, 7], sinc_prob=0.3,
                          final_sinc_prob=0.5, final_kernel_range=[5, 7], use_rot=False, bit_depth=16)
    got = batches(section, 4)
    b = got[0]
    assert set(b) >= {"gt", "kernel1", "kernel2", "sinc_kernel", "gt_path"} and "lq" not in b
    assert tuple(b["gt"].shape) == (7, 3, 96 + 32, 96 + 32)
    for batch in got:
        for k, high in (("kernel1", 9), ("kernel2", 7), ("sinc_kernel", 7)):  # narrow Gaussians may underflow
            support = (batch[k].abs() > 0).any(dim=1).sum(dim=1)  # columns with a non-zero tap
            assert int(support.max()) <= high, k
            assert torch.allclose(batch[k].sum(dim=(1, 2)), torch.ones(7), atol=1e-5)
    # e.png is 96 x 128: padded with 32 black rows (its bottom, in its flipped frame), never reflected
    for batch in got:
        for j, path in enumerate(batch["gt_path"]):
            if path.endswith("e.png"):
                img = batch["gt"][j]
                black_rows = int((img.abs().sum(dim=(0, 2)) == 0).sum())
                black_cols = int((img.abs().sum(dim=(0, 1)) == 0).sum())
                assert sorted((black_rows, black_cols)) == [0, 32]


def test_singlegtdataset_batches(tree):
    (b,) = batches(_gt_section(tree, "SingleGTDataset", lq_resize_mode="bicubic", bit_depth=16), 1)
    assert tuple(b["gt"].shape) == (7, 3, 96, 96)
    assert b["lq_path"] == b["gt_path"] and b["lq_resize_mode"] == ["bicubic"] * 7


def test_singleimagedataset_color_y_is_its_rounded_luma(tree):
    section = {"name": "lq", "type": "singleimagedataset", "dataroot_lq": [tree.lq[0]], "color": "y",
               "phase": "val", "bit_depth": 16}
    items = batches(section, 3)
    assert [os.path.basename(b["lq_path"][0]) for b in items] == ["a.webp", "b.png", "c.jpg"][:3]
    for b in items:
        if b["lq_path"][0].endswith("b.png"):
            continue  # 16-bit: its rgb2ycbcr refuses uint16 (a TypeError there); dalisr rounds its Y to 8-bit levels
        want = torch.from_numpy(y_levels(read(b["lq_path"][0])).transpose(2, 0, 1).copy())
        assert b["lq"].shape[1] == 1 and float((b["lq"][0] - want).abs().max()) < 1e-6
