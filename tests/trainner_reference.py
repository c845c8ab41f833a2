"""traiNNer-redux's image reading, restated from its semantics with the library it reads with (pyvips).

Its ``vipsimfrompath``: ``pyvips.Image.new_from_file(path, access="sequential",
fail=True)``, then ``icc_transform("srgb", depth=16 if the image is 16-bit else
8)``; its ``img2rgb``: the first three channels (alpha dropped); its
``img2tensor``: CHW float32, integers divided by their type's maximum (255 or
65535). Its ``rgb2ycbcr(y_only=True)`` on uint8: ``16 + 65.481 R + 128.553 G +
24.966 B`` on [0, 1] values, rounded to an 8-bit level. Written for the tests
from its code's rules, not copied: the expectation dalisr's batches are checked against.
"""

from __future__ import annotations

import numpy as np
import pytest


def read(path: str) -> np.ndarray:
    """An image file as traiNNer-redux's reader hands it to its datasets: HWC RGB uint8 or uint16, 3 channels."""
    pyvips = pytest.importorskip("pyvips")
    img = pyvips.Image.new_from_file(path, access="sequential", fail=True)
    depth = 16 if img.format in ("ushort", "short") else 8
    img = img.icc_transform("srgb", depth=depth)
    arr = img.numpy()
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def as_float(img: np.ndarray) -> np.ndarray:
    """``img2tensor``'s values as HWC: integers over their type's maximum."""
    return img.astype(np.float32) / np.iinfo(img.dtype).max


def y_levels(img: np.ndarray) -> np.ndarray:
    """``rgb2ycbcr(img, y_only=True)`` of a uint8 RGB image, over 255 (H x W x 1)."""
    x = img.astype(np.float32) / 255
    y = x @ np.array([65.481, 128.553, 24.966], np.float32) + 16.0
    return (np.round(y) / 255).astype(np.float32)[..., None]
