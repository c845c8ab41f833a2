"""MATLAB's bicubic ``imresize(img, 1/s)``: its kernel, and the DALI graph step that makes an LQ with it.

What MATLAB does (and BasicSR's ``matlab_functions.imresize``):

* the cubic kernel of Keys with a = -0.5 and width 4;
* when shrinking (scale < 1) the kernel is stretched by 1/scale (antialiasing):
  ``h(x) = scale * cubic(scale * x)`` over a width of ``4 / scale``;
* output pixel ``x`` (from 1) is centred on input coordinate
  ``u = x / scale + 0.5 * (1 - 1 / scale)``; it takes input pixels
  ``floor(u - width/2) + 0 .. P-1`` with ``P = ceil(width) + 2``, weights
  ``h(u - index)`` normalised to sum 1; indices outside the image are mirrored
  (symmetric padding: ... 2 1 | 1 2 ... n | n n-1 ...), and columns whose weights
  are all zero are dropped.

At an integer factor ``s`` every output pixel has the same weights, so the
graph step is a correlation with that kernel along each axis followed by
taking every ``s``-th row (column). ``fn.filter``'s ``reflect_1001`` border
is MATLAB's symmetric padding, so a window cut where it meets the image's
edge is padded as the whole image is. DALI's own antialiased cubic resize
tabulates its kernel: exact (to float rounding) at factors 2, 4, 8, but
~1e-4 off at 3, 5, 6, so it is not used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KERNEL_WIDTH = 4.0


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def _taps(out_length: int, scale: float, kernel_width: float) -> tuple[np.ndarray, np.ndarray]:
    """(weights, 1-based input indices), each ``out_length x P``: MATLAB's taps before padding and trimming."""
    if scale < 1:
        def h(x):
            return scale * cubic(scale * x)

        kernel_width = kernel_width / scale
    else:
        h = cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    p = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(p, dtype=np.float64)[None, :]  # may leave the image
    weights = h(u[:, None] - indices)
    return weights / weights.sum(axis=1, keepdims=True), indices.astype(np.int64)


def contributions(in_length: int, out_length: int, scale: float,
                  kernel_width: float = KERNEL_WIDTH) -> tuple[np.ndarray, np.ndarray]:
    """(weights, 0-based input indices), each ``out_length x P``, for one dimension."""
    weights, indices = _taps(out_length, scale, kernel_width)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices - 1, mirror.size)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], indices[:, keep]


@dataclass(frozen=True)
class DownscaleTaps:
    """The per-axis correlation that makes LQ row ``o`` from input row ``s * o + phase``.

    ``weights[k]`` multiplies input row ``s * o + phase + k - anchor`` (``fn.filter``'s anchor).
    """

    factor: int
    weights: np.ndarray  # float32
    anchor: int
    phase: int

    @property
    def reach(self) -> int:
        """How many rows beyond an output's own ``s`` rows its taps read, on either side: a window's margin."""
        return max(self.anchor - self.phase, len(self.weights) - 1 - self.anchor - (self.factor - 1 - self.phase))


def downscale_taps(factor: int) -> DownscaleTaps:
    """MATLAB's taps of one output pixel at ``1 / factor`` (the same for every pixel), zero ends dropped."""
    weights, indices = _taps(1, 1.0 / factor, KERNEL_WIDTH)
    weights, first = weights[0], int(indices[0, 0]) - 1  # 0-based input row of the first tap, for output 0
    nonzero = np.flatnonzero(weights)
    weights, first = weights[nonzero[0]:nonzero[-1] + 1], first + int(nonzero[0])
    phase = (factor - 1) // 2  # the output's centre, (s - 1) / 2, rounded down
    return DownscaleTaps(factor, weights.astype(np.float32), phase - first, phase)


def _every_nth(img, factor: int, phase: int, axis: int, height, width):
    """Rows (``axis`` 0) or columns (1) ``phase, phase + factor, ...`` of an ``height x width x 3`` image (a
    multiple of ``factor`` along ``axis``): a reshape that splits the axis, then one index. (DALI 2.4's stepped
    subscript is wrong past a few rows; the sizes come as nodes because a GPU image's shape is on the GPU.)"""
    from nvidia.dali import fn

    if axis == 0:
        split = fn.reshape(img, shape=fn.stack(height // factor, height * 0 + factor, width, height * 0 + 3),
                           layout="HSWC")
        return split[:, phase]
    split = fn.reshape(img, shape=fn.stack(height, width // factor, height * 0 + factor, height * 0 + 3),
                       layout="HWSC")
    return split[:, :, phase]


def matlab_downscale(img, factor: int, height, width):
    """``imresize(img, 1 / factor)`` of an RGB window (HWC, ``height x width`` given as 0-d int nodes, each a
    multiple of ``factor``): float, in the input's value range, ``height / factor x width / factor``. The
    window's edges are padded symmetrically, as the image's are by MATLAB: exact where they are the image's
    edges; elsewhere the window needs a margin of :attr:`DownscaleTaps.reach` rows (columns) beyond what its
    outputs use."""
    from nvidia.dali import fn, types

    taps = downscale_taps(factor)
    kernel = taps.weights
    on_gpu = getattr(img, "device", "cpu") == "gpu"

    def correlate(x, k: np.ndarray, anchor: list[int]):
        const = fn.constant(fdata=k.ravel().tolist(), shape=list(k.shape), dtype=types.FLOAT)
        return fn.filter(x, const.gpu() if on_gpu else const, anchor=anchor, border="reflect_1001",
                         dtype=types.FLOAT)

    rows = _every_nth(correlate(img, kernel[:, None], [taps.anchor, 0]), factor, taps.phase, 0, height, width)
    return _every_nth(correlate(rows, kernel[None, :], [0, taps.anchor]), factor, taps.phase, 1, height // factor,
                      width)
