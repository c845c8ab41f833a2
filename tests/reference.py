"""BasicSR's training data path in plain numpy/OpenCV, as the yardstick for the DALI graph."""

from __future__ import annotations

import math

import cv2
import numpy as np


def imdecode(buf: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)


def paired_crop(gt: np.ndarray, lq: np.ndarray, fractions, gt_size: int, scale: int):
    """paired_random_crop with the top/left that the loader's fractions choose."""
    p = gt_size // scale
    h, w = lq.shape[:2]
    top = min(math.floor(float(fractions[0]) * float(h - p + 1)), h - p)
    left = min(math.floor(float(fractions[1]) * float(w - p + 1)), w - p)
    return gt[top * scale:top * scale + gt_size, left * scale:left * scale + gt_size], lq[top:top + p, left:left + p]


def augment(imgs, hflip: bool, vflip: bool, rot: bool):
    out = []
    for img in imgs:
        if hflip:
            img = cv2.flip(img, 1)
        if vflip:
            img = cv2.flip(img, 0)
        if rot:
            img = img.transpose(1, 0, 2)
        out.append(img)
    return out


def bgr2y(img_float: np.ndarray) -> np.ndarray:
    """bgr2ycbcr(img, y_only=True) for float32 input in [0, 1]."""
    return ((np.dot(img_float, [24.966, 128.553, 65.481]) + 16.0) / 255.0).astype(np.float32)


def img2tensor(img: np.ndarray, mean=None, std=None) -> np.ndarray:
    """BGR HWC (uint8, or float already in [0, 1]) -> RGB CHW float32, then normalize."""
    x = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
    if x.ndim == 2:
        x = x[..., None]
    if x.shape[2] == 3:
        x = x[:, :, ::-1]
    x = np.ascontiguousarray(x.transpose(2, 0, 1))
    if mean is not None:
        x = (x - np.asarray(mean, np.float32)[:, None, None]) / np.asarray(std, np.float32)[:, None, None]
    return x


def to_uint8(t) -> np.ndarray:
    """A loader tensor (C x H x W float in [0, 1], RGB) back to HWC uint8 BGR."""
    x = np.asarray(t).transpose(1, 2, 0)
    if x.shape[2] == 3:
        x = x[:, :, ::-1]
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
