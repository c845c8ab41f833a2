"""HAT's ImageNetPairedDataset.__getitem__, step for step, from basicsr's own functions (the installed package).

The random draws of ``paired_random_crop`` and ``augment`` are scripted (a stand-in for the ``random``
module they draw from), so the reference takes the crop position and flips dalisr chose for a sample.
Two deliberate departures, both stated in README.md: ``color: y`` is BasicSR's ``bgr2ycbcr`` (HAT calls
``rgb2ycbcr`` on BGR data), and the crops are copied before ``augment`` (OpenCV 5 refuses the in-place flip
of a view that basicsr's augment does; the pixels are the same).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import cv2
import numpy as np


class ScriptedRandom:
    """What ``basicsr.data.transforms`` draws: ``randint`` gives the crop's top then left, ``random`` the flips."""

    def __init__(self, top_left: tuple[int, int], flips: tuple[int, int, int]) -> None:
        self.ints = list(top_left)
        self.floats = [0.0 if f else 0.9 for f in flips]  # augment flips where random() < 0.5

    def randint(self, low: int, high: int) -> int:
        value = self.ints.pop(0)
        assert low <= value <= high, (low, value, high)
        return value

    def random(self) -> float:
        return self.floats.pop(0)


@contextlib.contextmanager
def scripted(top_left: tuple[int, int], flips: tuple[int, int, int]) -> Iterator[None]:
    from basicsr.data import transforms

    saved = transforms.random
    transforms.random = ScriptedRandom(top_left, flips)
    try:
        yield
    finally:
        transforms.random = saved


def hat_lr_and_gt(data: bytes, scale: int, gt_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """HAT's whole-image GT (modcrop, upscale to gt_size) and its float LQ, BGR float32 in [0, 1]."""
    from basicsr.utils import imfrombytes
    from basicsr.utils.matlab_functions import imresize

    img_gt = imfrombytes(data, float32=True)
    size_h, size_w, _ = img_gt.shape
    size_h, size_w = size_h - size_h % scale, size_w - size_w % scale
    img_gt = img_gt[0:size_h, 0:size_w, :]
    if gt_size:
        size_h, size_w = max(size_h, gt_size), max(size_w, gt_size)
    img_gt = cv2.resize(img_gt, (size_w, size_h))
    img_lq = imresize(img_gt, 1 / scale)
    return np.ascontiguousarray(img_gt, dtype=np.float32), np.ascontiguousarray(img_lq, dtype=np.float32)


def hat_item(data: bytes, *, scale: int, gt_size: int | None, train: bool, top_left: tuple[int, int] = (0, 0),
             flips: tuple[int, int, int] = (0, 0, 0), use_hflip: bool = True, use_rot: bool = True,
             color_y: bool = False, mean=None, std=None) -> dict[str, np.ndarray]:
    """``{'gt', 'lq'}`` as CHW float32 RGB (or Y), for a sample cropped at LQ ``top_left`` with ``flips``."""
    from basicsr.data.transforms import augment, paired_random_crop
    from basicsr.utils import bgr2ycbcr, img2tensor

    img_gt, img_lq = hat_lr_and_gt(data, scale, gt_size)
    if train:
        with scripted(top_left, flips):
            img_gt, img_lq = paired_random_crop(img_gt, img_lq, gt_size, scale, "gt_path")
            img_gt, img_lq = augment([img_gt.copy(), img_lq.copy()], use_hflip, use_rot)
    if color_y:
        img_gt = bgr2ycbcr(img_gt, y_only=True)[..., None]
        img_lq = bgr2ycbcr(img_lq, y_only=True)[..., None]
    if not train:
        img_gt = img_gt[0:img_lq.shape[0] * scale, 0:img_lq.shape[1] * scale, :]
    out = {}
    for name, img in (("gt", img_gt), ("lq", img_lq)):
        t = img2tensor(img, bgr2rgb=True, float32=True).numpy()
        if mean is not None or std is not None:
            t = (t - np.asarray(mean, np.float32)[:, None, None]) / np.asarray(std, np.float32)[:, None, None]
        out[name] = t
    return out
