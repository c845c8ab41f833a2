"""torch's ``F.interpolate`` modes (area, bilinear, bicubic; no antialias, align_corners False) in a DALI graph.

bilinear: DALI's linear resize, equal to torch's to float rounding.
bicubic: DALI's cubic resize; its cubic differs from torch's (a = -0.75),
so results differ slightly (PSNR ~48 dB on photos; tests state the bound).
area: torch's adaptive average pooling, whose windows ``[floor(i n / m),
ceil((i + 1) n / m))`` are only ever K or K + 1 wide (K = ceil(n / m)):
per axis, box means of width K and K + 1 (``fn.filter``), each sampled at
the window starts by a nearest-neighbour resize, then blended by a mask of
the wider windows. That is exact (to float rounding), where DALI's own
antialiased resize reaches only 36-41 dB against it.
"""

from __future__ import annotations

from .params import AREA, BILINEAR


def _box_mean(img, width, axis: int):
    """Mean of ``width`` pixels starting at each position along ``axis`` (0: rows, 1: columns)."""
    from nvidia.dali import fn, types

    one = width * 0 + 1
    shape = fn.stack(width, one) if axis == 0 else fn.stack(one, width)
    kernel = fn.ones(shape=shape, dtype=types.FLOAT) / fn.cast(width, dtype=types.FLOAT)
    if getattr(img, "device", "cpu") == "gpu":  # the filter goes where the image is
        kernel = kernel.gpu()
    return fn.filter(img, kernel, anchor=[0, 0], border="clamp", dtype=types.FLOAT)


def _starts(img, n_in, n_out, other, axis: int):
    """Nearest-neighbour samples at ``floor(i * n_in / n_out)`` along ``axis``, i < n_out.

    The sampling position is ``i * r + 0.5 / n_out`` (r = n_in / n_out): the
    fractional part of ``i * r`` is a multiple of ``1 / n_out``, so the
    half-step margin keeps the floor exact under float rounding.
    """
    from nvidia.dali import fn, types

    n_in_f = fn.cast(n_in, dtype=types.FLOAT)
    n_out_f = fn.cast(n_out, dtype=types.FLOAT)
    other_f = fn.cast(other, dtype=types.FLOAT)
    start = 0.5 / n_out_f - 0.5 * n_in_f / n_out_f
    zero = other_f * 0.0
    if axis == 0:
        size, roi_start, roi_end = fn.stack(n_out_f, other_f), fn.stack(start, zero), fn.stack(start + n_in_f, other_f)
    else:
        size, roi_start, roi_end = fn.stack(other_f, n_out_f), fn.stack(zero, start), fn.stack(other_f, start + n_in_f)
    return fn.resize(img, size=size, roi_start=roi_start, roi_end=roi_end, interp_type=types.INTERP_NN,
                     antialias=False, dtype=types.FLOAT)


def _area_axis(img, n_in, n_out, other, width, wide_mask, axis: int):
    narrow = _starts(_box_mean(img, width, axis), n_in, n_out, other, axis)
    wide = _starts(_box_mean(img, width + 1, axis), n_in, n_out, other, axis)
    return narrow + wide_mask * (wide - narrow)


def area(img, in_hw, out_hw, widths, masks):
    """torch's ``mode='area'`` (adaptive_avg_pool2d) from ``in_hw`` to ``out_hw`` (pairs of 0-d int nodes).

    ``widths``: K per axis; ``masks``: the (h, 1, 1) and (1, w, 1) float masks of K + 1 wide windows.
    """
    rows = _area_axis(img, in_hw[0], out_hw[0], in_hw[1], widths[0], masks[0], axis=0)
    return _area_axis(rows, in_hw[1], out_hw[1], out_hw[0], widths[1], masks[1], axis=1)


def interpolate(img, mode, in_hw, out_hw, widths, masks, roi_end=None):
    """``F.interpolate(img, size=out_hw, mode=MODES[mode])``, mode chosen per sample.

    ``roi_end`` (h, w floats) gives ``scale_factor`` semantics: torch then maps
    coordinates with the factor itself, not ``in / out``.
    """
    from nvidia.dali import fn, types

    if mode == AREA:
        out = area(img, in_hw, out_hw, widths, masks)
    else:
        size = fn.cast(fn.stack(*out_hw), dtype=types.FLOAT)
        kw = {} if roi_end is None else {"roi_start": fn.stack(roi_end[0] * 0.0, roi_end[1] * 0.0),
                                         "roi_end": fn.stack(*roi_end)}
        if mode == BILINEAR:
            out = fn.resize(img, size=size, interp_type=types.INTERP_LINEAR, antialias=False, dtype=types.FLOAT,
                            **kw)
        else:
            out = fn.resize(img, size=size, interp_type=types.INTERP_CUBIC, antialias=False, dtype=types.FLOAT,
                            **kw)
    return out
