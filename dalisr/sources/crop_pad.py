"""BasicSR's crop-or-pad (Real-ESRGAN's GT): flip, pad to a square with reflect-101, cut the square.

(traiNNer-redux's GT-only types pad with black instead: ``fill="zeros"``, the
same index maps with no source pixel past the image's edge.)

BasicSR's ``RealESRGANDataset`` flips the whole GT first (``augment``), then
pads its bottom and right edges with ``cv2.BORDER_REFLECT_101`` up to 400
where it is smaller, then cuts a random 400 square where it is larger. The
order matters: the padding always lies at the bottom/right *of the flipped
image*. The graph flips after the source, so this source emits the square
un-flipped: it works out, for the sample's flip bits, which source pixel every
output pixel of BasicSR's result comes from (reflect-101 is an index map, the
flips are index maps), decodes only the rows that hold them (PNG) or reads
them from the memory map (raw), gathers them, and undoes the flips; the
graph's ``augment`` then redoes them. Bit-exact to BasicSR's steps, for any
image size (also where the padding exceeds the image, as OpenCV reflects again).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sampling import effective_flips, window_anchor
from .base import Frames
from .windows import WindowReader


def reflect_101(index: np.ndarray, n: int) -> np.ndarray:
    """``cv2.BORDER_REFLECT_101``'s source index of each (non-negative) ``index`` on an axis of length ``n``."""
    if n == 1:
        return np.zeros_like(index)
    period = 2 * (n - 1)
    i = index % period
    return np.where(i >= n, period - i, i)


@dataclass(frozen=True)
class CropPadPlan:
    """Where BasicSR's crop-or-pad output comes from in the un-flipped image.

    ``rows[i]`` / ``cols[j]``: the source row and column of output pixel
    (i, j), before the transpose; ``transpose``: whether the output is the
    transpose of that gather.
    """

    rows: np.ndarray
    cols: np.ndarray
    transpose: bool

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(top, left, height, width) of the source region holding every gathered pixel (-1: a black pixel)."""
        rows, cols = self.rows[self.rows >= 0], self.cols[self.cols >= 0]
        top, left = int(rows.min()), int(cols.min())
        return top, left, int(rows.max()) - top + 1, int(cols.max()) - left + 1


def black_past(index: np.ndarray, n: int) -> np.ndarray:
    """Zero padding's index map: each index on an axis of length ``n``, or -1 (a black pixel) past its end."""
    return np.where(index < n, index, -1)


def crop_pad_plan(height: int, width: int, flips, fractions, size: int, fill: str = "reflect_101") -> CropPadPlan:
    """BasicSR's augment then crop-or-pad as index maps into the ``height`` x ``width`` source.

    ``flips`` are the effective (hflip, vflip, transpose) bits; ``fractions``
    choose the crop in the flipped, padded image as ``window_anchor`` does
    (uniform over the positions, as BasicSR's ``random.randint``). ``fill``:
    ``reflect_101`` (BasicSR's padding) or ``zeros`` (black: index -1).
    """
    hflip, vflip, transpose = (bool(f) for f in flips)
    fh, fw = (width, height) if transpose else (height, width)  # the flipped image's shape
    top, left = window_anchor(fractions, max(fh, size), max(fw, size), size)
    pad = reflect_101 if fill == "reflect_101" else black_past
    out_rows = pad(np.arange(top, top + size), fh)  # rows / cols of the flipped image
    out_cols = pad(np.arange(left, left + size), fw)
    if transpose:  # flipped[r, c] = vh[c, r]
        out_rows, out_cols = out_cols, out_rows
    rows = np.where(out_rows >= 0, height - 1 - out_rows, -1) if vflip else out_rows
    cols = np.where(out_cols >= 0, width - 1 - out_cols, -1) if hflip else out_cols
    return CropPadPlan(rows, cols, transpose)


def _axis_index(index: np.ndarray, origin: int) -> slice | np.ndarray:
    """``index - origin`` as a slice where it is a run (step 1 or -1: a crop, flipped or not), else the array."""
    rel = index - origin
    if len(rel) > 1:
        step = int(rel[1] - rel[0])
        if step in (1, -1) and np.array_equal(np.diff(rel), np.full(len(rel) - 1, step)):
            stop = int(rel[-1]) + step
            return slice(int(rel[0]), None if stop < 0 else stop, step)
    return rel


def gather_unflipped(window: np.ndarray, plan: CropPadPlan, flips) -> np.ndarray:
    """The output square from the decoded ``plan.box`` window, with the flips undone (HWC, contiguous).

    Crops (no padding) are plain slices; padded axes gather with their index arrays, one axis at a time.
    """
    top, left, _, _ = plan.box
    rows, cols = plan.rows[plan.rows >= 0], plan.cols[plan.cols >= 0]  # black pixels (-1) come last: a prefix
    out = window[_axis_index(rows, top)]  # BasicSR's result before its transpose
    out = out[:, _axis_index(cols, left)]
    if len(rows) < len(plan.rows) or len(cols) < len(plan.cols):  # zero padding: the rest stays black
        whole = np.zeros((len(plan.rows), len(plan.cols), *out.shape[2:]), dtype=out.dtype)
        whole[:len(rows), :len(cols)] = out
        out = whole
    hflip, vflip, _ = (bool(f) for f in flips)
    # the result is transpose?(vflip?(hflip?(gt))): with the transpose not applied, undo the flips
    if vflip:
        out = out[::-1]
    if hflip:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


@dataclass
class CropPadReader:
    """A GT-only reader that emits BasicSR's crop-or-pad square (HWC uint8 RGB), flips undone for the graph.

    Any size of GT works (no size check: smaller images are padded). Values
    are opened as :class:`WindowReader` opens them (raw memory maps, PNG rows,
    other codecs decoded whole with OpenCV); only the box of pixels the square
    uses is decoded or copied.
    """

    windows: WindowReader
    size: int
    use_hflip: bool
    use_rot: bool
    fill: str = "reflect_101"

    emits_pixels = True

    @property
    def codec(self) -> str:
        return self.windows.codec

    def load(self, keys: dict[str, tuple[str, ...]], fractions: np.ndarray, flips: np.ndarray) -> Frames:
        flips3 = effective_flips(flips, self.use_hflip, self.use_rot)
        with self.windows.opened(keys) as sample:
            height, width = sample.shapes["gt"][0]
            plan = crop_pad_plan(height, width, flips3, fractions, self.size, self.fill)
            box = sample.cut({"gt": [plan.box]})
        return Frames([gather_unflipped(box.arrays[0], plan, flips3)], box.seek_mismatches)
