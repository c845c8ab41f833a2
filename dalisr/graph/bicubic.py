"""GT and LQ from one window of a GT image: the LQ is MATLAB's bicubic downscale of the whole image, made here
from the window only (:class:`dalisr.contract.GTWindow` says where everything lies; the reader planned it).

Decode the box (only its rows and columns: ``image_slice``, nvJPEG under ``mixed``), flip it, upscale it
bilinearly where the image is shorter than ``gt_size`` (as ``cv2.resize``), downscale the window by the
scale with MATLAB's kernel (symmetric padding at the image's edges, :mod:`dalisr.degrade.bicubic`), then
cut the GT crop from the window and the LQ crop from its downscale, as tensors. The result equals cropping
the whole-image pair, to float rounding: the window's margin covers the kernel's reach.
"""

from __future__ import annotations

from ..contract import GTWindow
from ..degrade.bicubic import matlab_downscale
from .ops import GraphSpec, augment, to_tensor


def _pair(window, first: str):
    """Fields ``first`` and the one after it (a top/left or height/width pair) as an int32 vector."""
    at = GTWindow.slot(first)
    return window[at:at + 2]


def _field(window, name: str):
    return window[GTWindow.slot(name)]


def _crops(img, window, spec: GraphSpec) -> dict:
    """GT from the window ``img``, LQ from its downscale, both as tensors (``to_tensor``)."""
    from nvidia.dali import fn

    lq = matlab_downscale(img, spec.scale, _field(window, "window_height"), _field(window, "window_width"))
    gt = fn.slice(img, _pair(window, "gt_top"), _pair(window, "gt_height"), axes=[0, 1], out_of_bounds_policy="error")
    lq = fn.slice(lq, _pair(window, "lq_top"), _pair(window, "lq_height"), axes=[0, 1], out_of_bounds_policy="error")
    return {"gt": to_tensor(gt, spec), "lq": to_tensor(lq, spec)}


def gt_lq_from_window(encoded, window, flips, spec: GraphSpec) -> dict:
    """``{"gt": ..., "lq": ...}`` tensors (``to_tensor``) of one GT value and its :class:`GTWindow`, flipped
    (training) as BasicSR's ``augment`` flips the crops: the decoded box is flipped, while it is small and
    8-bit, and the window's fields are in that flipped frame.

    Needs a pipeline built with ``enable_conditionals=True`` (the upscale and the transpose are per sample)."""
    from nvidia.dali import fn, types

    box = fn.decoders.image_slice(encoded, _pair(window, "box_top"), _pair(window, "box_height"), axes=[0, 1],
                                  device="mixed" if spec.device == "gpu" else "cpu", output_type=types.RGB)
    if spec.train:
        (box,) = augment([box], flips, spec.use_hflip, spec.use_rot)
    if _field(window, "upscaled") != 0:  # cv2.resize's INTER_LINEAR, in float (DALI's linear resize equals it)
        up = fn.resize(box, size=fn.cast(_pair(window, "window_height"), dtype=types.FLOAT),
                       interp_type=types.INTERP_LINEAR, antialias=False, dtype=types.FLOAT)
        out = _crops(up, window, spec)
    else:  # the 8-bit box itself (the filter and to_tensor read it as it is)
        out = _crops(box, window, spec)
    return out
