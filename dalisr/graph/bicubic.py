"""GT and LQ from one window of a GT image: the LQ is MATLAB's bicubic downscale of the whole image, made here
from the window only (:class:`dalisr.contract.GTWindow` says where everything lies; the reader planned it).

Decode the box (only its rows and columns: ``image_slice``, nvJPEG under ``mixed``), upscale it
bilinearly where the image is shorter than ``gt_size`` (as ``cv2.resize``), downscale the window by the
scale with MATLAB's kernel (symmetric padding at the image's edges, :mod:`dalisr.degrade.bicubic`), then
cut the GT crop from the window and the LQ crop from its downscale, as tensors. The result equals cropping
the whole-image pair, to float rounding: the window's margin covers the kernel's reach.

On the CPU every pass over an image costs (DALI's flips, transposes, casts and slices run at ~1 ns a byte)
and so does every operator (tens of microseconds a batch, in each branch of a conditional that uses it):
the flips and the crops ride on the decoded box and on ``crop_mirror_normalize``, the crop positions come
computed from the reader, each field is read once, and conditionals hold only what differs between branches.
"""

from __future__ import annotations

from ..contract import CROP_FIELDS, GTWindow
from ..degrade.bicubic import downscale_shapes, matlab_downscale, resize_is_exact
from .ops import GraphSpec, to_tensor


class WindowFields:
    """The per-sample fields of a :class:`GTWindow` (and its crops) as nodes, each subscript made once."""

    def __init__(self, window, crops) -> None:
        self.window, self.crops = window, crops
        self._nodes: dict = {}

    def __getitem__(self, name: str):
        if name not in self._nodes:
            self._nodes[name] = self.window[GTWindow.slot(name)]
        return self._nodes[name]

    def pair(self, first: str):
        """Fields ``first`` and the one after it (a top/left or height/width pair) as an int32 vector."""
        key = (first, 2)
        if key not in self._nodes:
            at = GTWindow.slot(first)
            self._nodes[key] = self.window[at:at + 2]
        return self._nodes[key]

    def crop_args(self, name: str, size: int | None) -> dict:
        """``crop_mirror_normalize``'s crop arguments for the ``gt`` or ``lq`` crop; ``size``: its side where every
        sample's is the same (training), else None (the sizes are per sample too)."""
        def field(k: str):
            return self.crops[CROP_FIELDS.index(f"{name}_{k}")]

        args = {"crop_pos_y": field("pos_y"), "crop_pos_x": field("pos_x"), "out_of_bounds_policy": "error"}
        if size is None:
            return {**args, "crop_h": field("height"), "crop_w": field("width")}
        return {**args, "crop": [size, size]}


def _tensors(images: dict, crops: dict, mirror, spec: GraphSpec, transposed: bool) -> dict:
    return {name: to_tensor(img, spec, crop=crops[name], mirror=mirror, transposed=transposed)
            for name, img in images.items()}


def _flipped_tensors(images: dict, crops: dict, flips: dict, spec: GraphSpec) -> dict:
    """GT from the window, LQ from its downscale: cut, mirrored and transposed (training, where ``flips`` say) as
    tensors, each in one ``crop_mirror_normalize`` pass; only those passes are in the conditional."""
    if not spec.train:
        return _tensors(images, crops, None, spec, False)
    if flips["transpose"] != 0:
        out = _tensors(images, crops, flips["mirror"], spec, True)
    else:
        out = _tensors(images, crops, flips["mirror"], spec, False)
    return out


def gt_lq_from_window(encoded, window, crops, spec: GraphSpec) -> dict:
    """``{"gt": ..., "lq": ...}`` tensors of one GT value, its :class:`GTWindow` and its crops
    (:meth:`GTWindow.crop_positions`), flipped (training) as BasicSR's ``augment`` flips the crops: the decoded
    box upside down (rows in another order: cheap while it is 8-bit), the crops left-right and transposed in the
    pass that makes them tensors.

    Needs a pipeline built with ``enable_conditionals=True`` (the upscale and the transpose are per sample)."""
    from nvidia.dali import fn, types

    f = WindowFields(window, crops)
    box = fn.decoders.image_slice(encoded, f.pair("box_top"), f.pair("box_height"), axes=[0, 1],
                                  device="mixed" if spec.device == "gpu" else "cpu", output_type=types.RGB)
    if spec.train:
        box = fn.flip(box, vertical=f["vflip"], horizontal=0)
    shapes = downscale_shapes(spec.scale, f["window_height"], f["window_width"])
    sizes = {"gt": spec.gt_size, "lq": spec.gt_size // spec.scale} if spec.train else {"gt": None, "lq": None}
    crop_args = {name: f.crop_args(name, sizes[name]) for name in ("gt", "lq")}
    flips = {"mirror": f["mirror"], "transpose": f["transpose"]} if spec.train else {}
    # val windows are whole images (they meet the edges): no resize branch, nor a node unused in one (DALI's
    # GPU graph refuses a conditional's split output that no operator reads)
    interior = f["interior"] if spec.train and resize_is_exact(spec.scale) else None
    if f["upscaled"] != 0:  # cv2.resize's INTER_LINEAR, in float (DALI's linear resize equals it)
        up = fn.resize(box, size=fn.cast(f.pair("window_height"), dtype=types.FLOAT),
                       interp_type=types.INTERP_LINEAR, antialias=False, dtype=types.FLOAT)
        out = _flipped_tensors({"gt": up, "lq": matlab_downscale(up, spec.scale, shapes)}, crop_args, flips, spec)
    else:  # the 8-bit box itself (the downscale and the tensors read it as it is)
        lq_window = matlab_downscale(box, spec.scale, shapes, interior=interior)
        out = _flipped_tensors({"gt": box, "lq": lq_window}, crop_args, flips, spec)
    return out
