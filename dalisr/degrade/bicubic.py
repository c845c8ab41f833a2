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
~1e-4 off at 3, 5, 6; it clamps at the edge, so it serves only windows with
their whole margin, at those factors.
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


@dataclass(frozen=True)
class DownscaleShapes:
    """The per-sample shapes the downscale needs (nodes), made once by :func:`downscale_shapes`: every operator
    costs its overhead on each use, and in each branch of a conditional that uses it."""

    rows: object  # (h / s, s, w, 3): the window, its rows split into groups of s
    cols: object  # (h / s, w / s, s, 3): the rows' downscale, its columns split likewise
    lq: object  # (h / s, w / s) as floats: the LQ window's size


def downscale_shapes(factor: int, height, width) -> DownscaleShapes:
    """:class:`DownscaleShapes` of an RGB window ``height x width`` (0-d int nodes, multiples of ``factor``; a GPU
    image's shape is on the GPU, so the sizes come from the plan)."""
    from nvidia.dali import fn, types

    s, three = (fn.constant(idata=v, shape=[], dtype=types.INT32) for v in (factor, 3))
    h, w = height // factor, width // factor
    return DownscaleShapes(fn.stack(h, s, width, three), fn.stack(h, w, s, three),
                           fn.cast(fn.stack(h, w), dtype=types.FLOAT))


def _filtered(img, factor: int, shapes: DownscaleShapes):
    """The downscale as two correlations with MATLAB's kernel, each followed by taking every ``factor``-th row
    (column: a reshape that splits the axis, then one index; DALI 2.4's stepped subscript is wrong past a few
    rows): exact at any integer factor; ``reflect_1001`` pads the window's edges symmetrically."""
    from nvidia.dali import fn, types

    taps = downscale_taps(factor)
    kernel = taps.weights

    def correlate(x, k: np.ndarray, anchor: list[int]):
        # the kernel stays on the CPU also for a GPU image (the GPU filter copies it): a .gpu() inside a
        # conditional's branch makes a graph DALI 2.4 refuses to build ("input ... Split_N[1] not found")
        const = fn.constant(fdata=k.ravel().tolist(), shape=list(k.shape), dtype=types.FLOAT)
        return fn.filter(x, const, anchor=anchor, border="reflect_1001", dtype=types.FLOAT)

    rows = fn.reshape(correlate(img, kernel[:, None], [taps.anchor, 0]), shape=shapes.rows, layout="HSWC")
    rows = rows[:, taps.phase]
    cols = fn.reshape(correlate(rows, kernel[None, :], [0, taps.anchor]), shape=shapes.cols, layout="HWSC")
    return cols[:, :, taps.phase]


def resize_is_exact(factor: int) -> bool:
    """Whether DALI's antialiased cubic resize is MATLAB's kernel at ``1 / factor``: at powers of two its tabulated
    kernel is sampled on its own nodes (exact to float rounding); at 3, 5, 6 it is ~1e-4 off."""
    return factor > 1 and factor & (factor - 1) == 0


def matlab_downscale(img, factor: int, shapes: DownscaleShapes, interior=None):
    """``imresize(img, 1 / factor)`` of an RGB window (HWC, its size a multiple of ``factor``; ``shapes`` from
    :func:`downscale_shapes`): float, in the input's value range. The window's edges are padded symmetrically, as
    the image's are by MATLAB: exact where they are the image's edges; elsewhere the window needs a margin of
    :attr:`DownscaleTaps.reach` rows (columns) beyond what its outputs use.

    ``interior`` (a per-sample 0/1 node): the window nowhere meets the image's edge, so no padding is needed
    and, at factors where it is exact (:func:`resize_is_exact`), DALI's resize does the work (about a third
    less CPU than the two correlations). Needs ``enable_conditionals`` then."""
    from nvidia.dali import fn, types

    if interior is None or not resize_is_exact(factor):
        return _filtered(img, factor, shapes)
    if interior != 0:
        out = fn.resize(img, size=shapes.lq, interp_type=types.INTERP_CUBIC, antialias=True, dtype=types.FLOAT)
    else:
        out = _filtered(img, factor, shapes)
    return out
