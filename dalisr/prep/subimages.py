"""BasicSR's sub-image extraction: overlapping square windows over a large image."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# removed one after the other, as BasicSR's str.replace chain does
_SCALE_SUFFIXES = ("x2", "x3", "x4", "x8")


def window_starts(size: int, crop: int, step: int, thresh: int) -> list[int]:
    """Starts 0, step, ... plus ``size - crop`` when the remainder exceeds ``thresh``."""
    if size < crop:
        return []
    starts = list(range(0, size - crop + 1, step))
    if size - (starts[-1] + crop) > thresh:
        starts.append(size - crop)
    return starts


def subimage_name(stem: str) -> str:
    """DIV2K names drop the ``x2/x3/x4/x8`` suffix so HR and LR sub-images share names."""
    for suffix in _SCALE_SUFFIXES:
        stem = stem.replace(suffix, "")
    return stem


def iter_subimages(img: np.ndarray, crop: int, step: int, thresh: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """(index from 1, window) in row-major order, as BasicSR numbers them."""
    h, w = img.shape[:2]
    index = 0
    for top in window_starts(h, crop, step, thresh):
        for left in window_starts(w, crop, step, thresh):
            index += 1
            yield index, np.ascontiguousarray(img[top:top + crop, left:left + crop, ...])
