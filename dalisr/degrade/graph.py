"""Real-ESRGAN's two-order degradation as one DALI graph: GT (uint8, whole) -> LQ and GT patches.

The order is ``RealESRNetModel.feed_data``'s: USM-sharpen GT (``gt_usm``),
blur (kernel1), resize, noise, JPEG; blur (kernel2, with
``second_blur_prob``), resize, noise; then [resize back + sinc] and JPEG in
the drawn order; clamp and round; the paired crop. Every choice is an input
drawn by the source (``params.py``); the noise fields are inputs too, or
drawn here by DALI's generators on the graph's device
(``DegradeOptions.noise_in_graph``). The graph needs ``enable_conditionals``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ops import add_noise, filter2d, jpeg, quantize, to_float, usm_sharp
from .options import DegradeOptions
from .params import AREA_MASKS, JPEG_FIRST, F, I
from .resize import interpolate


@dataclass
class DegradeInputs:
    """The per-sample graph inputs a degrading source emits beside the GT."""

    kernel1: object
    kernel2: object
    sinc_kernel: object
    ints: object  # int32 vector, slots params.INT_FIELDS
    floats: object  # float32 vector, slots params.FLOAT_FIELDS
    noise1: object  # the source's standard normal HWC fields at the first / second resize's size, or None: the
    noise2: object  # graph draws them
    masks: list  # six area masks: (h, 1, 1) and (1, w, 1) for each of the three resizes
    options: DegradeOptions


def degrade(gt_u8, inp: DegradeInputs):
    """The whole LQ (uint8 HWC, GT size / scale) and the float GT it came from (USM-sharpened or not)."""
    ints, floats = inp.ints, inp.floats

    def i(name):
        return ints[I[name]]

    def f(name):
        return floats[F[name]]

    def hw(k):
        return i(f"h{k}"), i(f"w{k}")

    def widths(k):
        return i(f"kh{k}"), i(f"kw{k}")

    def masks(k):
        return inp.masks[2 * (k - 1):2 * k]

    gt = to_float(gt_u8)
    if inp.options.gt_usm:
        gt = usm_sharp(gt)
    # the first order
    out = filter2d(gt, inp.kernel1)
    out = interpolate(out, i("mode1"), hw(0), hw(1), widths(1), masks(1), roi_end=(f("roi_h1"), f("roi_w1")))
    out = add_noise(out, i("gauss1") == 1, f("sigma1"), f("pscale1"), i("gray1") == 1, inp.noise1,
                    (*hw(1), i("gray1")))
    out = jpeg(out, i("q1"))
    # the second order
    if i("blur2") == 1:
        out = filter2d(out, inp.kernel2)
    out = interpolate(out, i("mode2"), hw(1), hw(2), widths(2), masks(2))
    out = add_noise(out, i("gauss2") == 1, f("sigma2"), f("pscale2"), i("gray2") == 1, inp.noise2,
                    (*hw(2), i("gray2")))
    # [resize back + sinc] and JPEG, in the drawn order
    if i("order") == JPEG_FIRST:
        out = jpeg(out, i("q3"))
        out = interpolate(out, i("mode3"), hw(2), hw(3), widths(3), masks(3))
        out = filter2d(out, inp.sinc_kernel)
    else:
        out = interpolate(out, i("mode3"), hw(2), hw(3), widths(3), masks(3))
        out = filter2d(out, inp.sinc_kernel)
        out = jpeg(out, i("q3"))
    return quantize(out), gt


def paired_patches(lq_u8, gts: list, anchor, opts: DegradeOptions) -> tuple:
    """The LQ patch at ``anchor`` (``[top, left]``) and each GT's patch at ``anchor * scale``."""
    from nvidia.dali import fn

    patch = opts.gt_size // opts.scale
    lq = fn.slice(lq_u8, anchor, [patch, patch], axes=[0, 1], out_of_bounds_policy="error")
    return lq, [fn.slice(g, anchor * opts.scale, [opts.gt_size, opts.gt_size], axes=[0, 1],
                         out_of_bounds_policy="error") for g in gts]


def degraded_outputs(gt_u8, got, opts: DegradeOptions, device: str = "cpu") -> dict:
    """From the GT square and the source's extra outputs (``got``: :class:`dalisr.contract.SourceOutputs`, read by
    name: the kernels and :func:`dalisr.degrade.params.draw_outputs`) to the batch tensors by name: ``gt``, ``lq``
    (and ``gt_plain`` where asked), CHW float."""
    from nvidia.dali import fn, types

    kernels = [got.extra(name) for name in ("kernel1", "kernel2", "sinc_kernel")]
    masks = [got.extra(name) for name in AREA_MASKS]
    ints, floats = got.extra("deg_ints"), got.extra("deg_floats")
    noise = [None, None]
    if not opts.noise_in_graph:  # as the image's layout, for the merges
        noise = [fn.reshape(got.extra(name), layout="HWC") for name in ("noise1", "noise2")]
    if device == "gpu":  # the image-sized inputs go where the image is; sizes and draws stay on the CPU
        kernels, masks = [k.gpu() for k in kernels], [m.gpu() for m in masks]
        noise = [z if z is None else z.gpu() for z in noise]
    inp = DegradeInputs(*kernels, ints, floats, *noise, masks, opts)
    lq, gt = degrade(gt_u8, inp)
    gts = [gt, to_float(gt_u8)] if opts.gt_plain else [gt]
    anchor = fn.stack(ints[I["top"]], ints[I["left"]])
    lq, gts = paired_patches(lq, gts, anchor, opts)
    chw = [fn.transpose(g, perm=[2, 0, 1], output_layout="CHW") for g in gts]
    lq = fn.crop_mirror_normalize(lq, dtype=types.FLOAT, output_layout="CHW", mean=[0.0] * 3, std=[255.0] * 3)
    return {"gt": chw[0], "lq": lq, **({"gt_plain": chw[1]} if opts.gt_plain else {})}
