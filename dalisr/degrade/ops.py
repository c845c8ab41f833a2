"""DALI graph pieces of Real-ESRGAN's degradation, on float32 HWC images in [0, 1].

Each mirrors one step of BasicSR / Real-ESRGAN (``filter2D``, ``USMSharp``,
the noise functions of ``degradations.py``, ``DiffJPEG``, the final clamp and
round); the per-sample parameters arrive as graph inputs drawn by the
source (see ``params.py``). Needs ``enable_conditionals=True``.
"""

from __future__ import annotations

import cv2
import numpy as np

# BasicSR's USMSharp: radius 50 (-> 51), sigma 0 (-> OpenCV's 0.3 * ((51 - 1) / 2 - 1) + 0.8 = 8), weight 0.5,
# threshold 10
USM_RADIUS, USM_WEIGHT, USM_THRESHOLD = 51, 0.5, 10
# torchvision's rgb_to_grayscale (used by BasicSR's gray Poisson noise)
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)
# BasicSR counts the distinct levels of the rounded image and rounds up to a power of two; any photo with
# more than 128 of them gives 256, the value used here (see README: differences)
POISSON_VALS = 256.0


def to_float(img_u8):
    """uint8 HWC -> float32 in [0, 1]."""
    from nvidia.dali import fn, types

    return fn.cast(img_u8, dtype=types.FLOAT) * (1.0 / 255.0)


def filter2d(img, kernel):
    """BasicSR's ``filter2D``: correlation with the sample's own kernel, reflect (no edge repeat) padding."""
    from nvidia.dali import fn, types

    return fn.filter(img, kernel, border="reflect_101", dtype=types.FLOAT)


def usm_kernel_1d() -> np.ndarray:
    """The 1-D factor of USMSharp's 51 x 51 kernel (OpenCV's Gaussian of sigma 8)."""
    return cv2.getGaussianKernel(USM_RADIUS, 0).astype(np.float32).ravel()


def _usm_blur(img):
    """USMSharp's 2-D blur as two 1-D passes (its kernel is the outer product of one Gaussian)."""
    from nvidia.dali import fn, types

    k = usm_kernel_1d()
    rows = fn.filter(img, k.reshape(-1, 1), border="reflect_101", dtype=types.FLOAT)
    return fn.filter(rows, k.reshape(1, -1), border="reflect_101", dtype=types.FLOAT)


def usm_sharp(img):
    """BasicSR's ``USMSharp.forward``: sharpen where the residual exceeds the threshold, with a soft mask."""
    from nvidia.dali import fn, types
    from nvidia.dali import math as dmath

    residual = img - _usm_blur(img)
    mask = fn.cast(dmath.abs(residual) * 255.0 > float(USM_THRESHOLD), dtype=types.FLOAT)
    soft = _usm_blur(mask)
    sharp = dmath.clamp(img + USM_WEIGHT * residual, 0.0, 1.0)
    return soft * sharp + (1.0 - soft) * img


def round_clip(img):
    """``clamp(round(x * 255), 0, 255) / 255`` (float in, float out)."""
    from nvidia.dali import fn, types

    return fn.cast(quantize(img), dtype=types.FLOAT) * (1.0 / 255.0)


def quantize(img):
    """Real-ESRGAN's final ``clamp((x * 255).round(), 0, 255)`` as uint8 (DALI's cast rounds to nearest)."""
    from nvidia.dali import fn, types
    from nvidia.dali import math as dmath

    return fn.cast(dmath.clamp(img * 255.0, 0.0, 255.0), dtype=types.UINT8)


def gray(img):
    """torchvision's ``rgb_to_grayscale`` as H x W x 1."""
    from nvidia.dali import fn

    wr, wg, wb = GRAY_WEIGHTS
    g = img[:, :, 0] * wr + img[:, :, 1] * wg + img[:, :, 2] * wb
    return fn.expand_dims(g, axes=[2], new_axis_names="C")


def normal_field(img, height, width, gray):
    """A standard normal field drawn by DALI on ``img``'s device: ``height`` x ``width`` x 1 for gray noise (added
    alike to R, G and B), else x 3 (0-d int nodes; the shape stays on the CPU, as DALI wants its arguments)."""
    from nvidia.dali import fn

    channels = 3 - 2 * gray
    z = fn.random.normal(shape=fn.stack(height, width, channels), device=getattr(img, "device", "cpu"))
    return fn.reshape(z, layout="HWC")  # the image's layout, as the conditional's merge wants (no copy)


def add_noise(img, gaussian, sigma, poisson_scale, gray_noise, z=None, shape=None):
    """BasicSR's ``random_add_gaussian_noise_pt`` / ``random_add_poisson_noise_pt`` with ``clip=True``.

    ``z``: the sample's standard normal field as the source drew it (H x W x
    1 for gray noise, else 3); then Gaussian noise is ``z * sigma / 255`` and
    Poisson noise its normal approximation ``z * sqrt(lam) / vals * scale``
    with ``lam = round(x) * vals``: the same per-pixel mean and variance as
    BasicSR's ``poisson(lam) / vals - round(x)`` (on the gray image for gray
    noise). ``z`` None: the graph draws on the image's device, Gaussian from
    DALI's normal generator (``shape``: height, width, gray flag as 0-d int
    nodes) and Poisson as BasicSR defines it, with DALI's shot noise
    (``poisson(x * vals) / vals``).
    """
    from nvidia.dali import fn
    from nvidia.dali import math as dmath

    if gaussian:
        if z is None:
            z = normal_field(img, *shape)
        noise = z * (sigma * (1.0 / 255.0))
    else:
        if gray_noise:
            base = round_clip(gray(img))  # H x W x 1, broadcast over the channels
        else:
            base = round_clip(img)
        if z is None:
            noise = (fn.noise.shot(base, factor=1.0 / POISSON_VALS) - base) * poisson_scale
        else:
            noise = z * dmath.sqrt(base * (1.0 / POISSON_VALS)) * poisson_scale
    return dmath.clamp(img + noise, 0.0, 1.0)


def jpeg(img, quality):
    """JPEG at the sample's integer quality: clamp, round to uint8, encode, decode, back to float.

    Real-ESRGAN's DiffJPEG takes the float image and the unrounded quality;
    here both are rounded (the encoder's inputs are integers).
    """
    from nvidia.dali import fn

    return to_float(fn.jpeg_compression_distortion(quantize(img), quality=quality))
