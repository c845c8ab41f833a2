"""DALI graph pieces: decode, paired crop, augment, to tensor. Nothing here knows of files.

All random choices arrive as inputs (crop fractions and flip bits drawn by
the source from seed, epoch and position), so a graph is a pure function of
its inputs: the same on every rank, after a restart, on CPU and on GPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# BasicSR's bgr2ycbcr(y_only=True) weights, here in RGB order
Y_WEIGHTS_RGB = (65.481, 128.553, 24.966)


@dataclass(frozen=True)
class GraphSpec:
    """What the graph does to a sample; filled from the dataset options."""

    phase: str = "train"
    gt_size: int | None = None
    scale: int = 1
    use_hflip: bool = False
    use_rot: bool = False
    color_y: bool = False
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    #: Vimeo90KRecurrentDataset's ``flip_sequence``: frames t = 0..T-1 then T-1..0 (7 read, 14 out)
    mirror_sequence: bool = False
    device: str = "cpu"  # "cpu" or "gpu"
    #: bits per channel of the decoded frames: 8 (uint8, / 255) or 16 (uint16, / 65535: 16-bit images kept so)
    depth: int = 8
    #: ``color: y`` rounded to 8-bit levels before it is scaled (traiNNer-redux's rgb2ycbcr on uint8 images)
    y_levels: bool = False
    #: embedded colour profiles: ``ignored`` (OpenCV and BasicSR ignore them) or ``srgb`` (traiNNer-redux converts
    #: them: dalisr takes sRGB ones and refuses others, :func:`dalisr.formats.icc.check_srgb`)
    colour_profiles: str = "ignored"

    @property
    def max_value(self) -> float:
        """The decoded frames' white: 255 or 65535."""
        return 65535.0 if self.depth == 16 else 255.0

    @property
    def train(self) -> bool:
        return self.phase == "train"


def pixel_type(depth: int) -> dict:
    """The decoders' type argument for frames of ``depth`` bits: none for 8 (their default, uint8), uint16 for 16
    (a 16-bit PNG keeps its values; 8-bit ones are widened by 257, so value / 65535 is value8 / 255)."""
    from nvidia.dali import types

    return {"dtype": types.UINT16} if depth == 16 else {}


def decode(encoded, device: str, depth: int = 8):
    """Encoded bytes -> HWC RGB of ``depth`` bits (gray is expanded to 3 channels, as cv2.IMREAD_COLOR does)."""
    from nvidia.dali import fn, types

    return fn.decoders.image(encoded, device="mixed" if device == "gpu" else "cpu", output_type=types.RGB,
                             **pixel_type(depth))


def decode_window(encoded, anchor, size: int, device: str, depth: int = 8):
    """Decode only the ``size`` square at ``anchor`` (``[top, left]``): HWC RGB of ``depth`` bits.

    DALI's ROI decoding (``fn.decoders.image_slice``) gives the same pixels as
    decoding whole and slicing (checked on PNG and JPEG, 4:4:4 and 4:2:0) for
    less work; a window outside the image is an error (DALI's default), as with the slice.
    """
    from nvidia.dali import fn, types

    return fn.decoders.image_slice(encoded, anchor, fn.constant(idata=[size, size], dtype=types.INT32), axes=[0, 1],
                                   device="mixed" if device == "gpu" else "cpu", output_type=types.RGB,
                                   **pixel_type(depth))


def crop_anchor(encoded_lq, fractions, patch: int):
    """LQ top-left ``[top, left]``: uniform integers in ``[0, h - patch]`` x ``[0, w - patch]``.

    Taken from the PNG/JPEG header (no decode needed) and the source's
    fractions: ``floor(f * (n - patch + 1))``, clamped, never past the edge.
    """
    from nvidia.dali import fn, types
    from nvidia.dali import math as dmath

    shape = fn.peek_image_shape(encoded_lq, dtype=types.INT32)
    room_h = fn.cast(shape[0] - patch + 1, dtype=types.FLOAT)
    room_w = fn.cast(shape[1] - patch + 1, dtype=types.FLOAT)
    top = dmath.min(dmath.floor(fractions[0] * room_h), room_h - 1.0)
    left = dmath.min(dmath.floor(fractions[1] * room_w), room_w - 1.0)
    return fn.cast(fn.stack(top, left), dtype=types.INT32)


def paired_crop(encoded_gts: Sequence, encoded_lqs: Sequence, fractions, gt_size: int, scale: int, device: str,
                depth: int = 8):
    """BasicSR's paired_random_crop, decoding only the windows: LQ at the anchor, GT at ``anchor * scale``.

    Every LQ frame gets the same window and every GT frame the same window
    times ``scale``, so each LQ patch is the aligned downscale of its GT patch.
    Returns (GT patches, LQ patches).
    """
    patch = gt_size // scale
    anchor = crop_anchor(encoded_lqs[0], fractions, patch)
    gt_anchor = anchor * scale
    gts = [decode_window(e, gt_anchor, gt_size, device, depth) for e in encoded_gts]
    return gts, [decode_window(e, anchor, patch, device, depth) for e in encoded_lqs]


def val_crop_gt(gt, encoded_lq, scale: int):
    """Validation: GT cut to ``[0:h_lq*scale, 0:w_lq*scale]`` as BasicSR does."""
    from nvidia.dali import fn, types

    shape = fn.peek_image_shape(encoded_lq, dtype=types.INT32)
    size = fn.stack(shape[0] * scale, shape[1] * scale)
    return fn.slice(gt, fn.constant(idata=[0, 0], dtype=types.INT32), size, axes=[0, 1], out_of_bounds_policy="error")


def augment(images: Sequence, flips, use_hflip: bool, use_rot: bool) -> list:
    """BasicSR's augment: hflip, vflip, then transpose (H<->W), one draw for all images.

    Needs a pipeline built with ``enable_conditionals=True`` when ``use_rot``.
    """
    from nvidia.dali import fn

    if not (use_hflip or use_rot):
        return list(images)
    hflip = flips[0] if use_hflip else 0
    vflip = flips[1] if use_rot else 0
    out = [fn.flip(img, horizontal=hflip, vertical=vflip) for img in images]
    if use_rot:
        if flips[2]:
            out = [fn.transpose(img, perm=[1, 0, 2], transpose_layout=False) for img in out]
        else:
            out = [img for img in out]
    return out


def to_y(img, spec: GraphSpec | None = None):
    """RGB -> Y float in [0, 1] (HW1): BasicSR's bgr2ycbcr(img / 255, y_only=True); with ``spec.y_levels``
    rounded to 8-bit levels first, as traiNNer-redux's rgb2ycbcr gives it for uint8 images."""
    from nvidia.dali import fn, types
    from nvidia.dali import math as dmath

    white = spec.max_value if spec is not None else 255.0
    x = fn.cast(img, dtype=types.FLOAT) / white
    wr, wg, wb = Y_WEIGHTS_RGB
    y = x[:, :, 0] * wr + x[:, :, 1] * wg + x[:, :, 2] * wb + 16.0
    if spec is not None and spec.y_levels:
        y = dmath.floor(y + 0.5)  # numpy's round on [16, 235]: no half-way value lands on an even/odd tie
    return fn.expand_dims(y / 255.0, axes=[2], new_axis_names="C")


def to_tensor(img, spec: GraphSpec, crop: dict | None = None, mirror=None, transposed: bool = False):
    """HWC -> CHW float32: ``/255`` for uint8, ``/65535`` for uint16 (or Y already in [0, 1]), then
    ``(x - mean) / std``.

    In the same pass, where given: ``crop`` (``crop_mirror_normalize``'s crop arguments) is cut, ``mirror`` (a
    per-sample 0/1 node) flips it left-right, and ``transposed`` swaps its spatial axes (a square crop's
    transpose: written W-major)."""
    from nvidia.dali import fn, types

    channels = 1 if spec.color_y else 3
    mean = np.zeros(channels) if spec.mean is None else np.resize(np.asarray(spec.mean, np.float64), channels)
    std = np.ones(channels) if spec.std is None else np.resize(np.asarray(spec.std, np.float64), channels)
    if spec.color_y:
        img = to_y(img, spec)
    else:
        mean, std = mean * spec.max_value, std * spec.max_value
    kwargs = dict(crop) if crop is not None else {}
    if mirror is not None:
        kwargs["mirror"] = mirror
    out = fn.crop_mirror_normalize(img, dtype=types.FLOAT, output_layout="CWH" if transposed else "CHW",
                                   mean=mean.tolist(), std=std.tolist(), **kwargs)
    return fn.reshape(out, layout="CHW") if transposed else out
