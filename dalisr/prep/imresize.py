"""MATLAB's ``imresize(img, 1/s, 'bicubic')`` in numpy, as BasicSR's LR images are made.

The kernel, the coordinates and the symmetric padding are MATLAB's
(:mod:`dalisr.degrade.bicubic`, which the loader's graph shares). Here, as in
MATLAB: the two dimensions are resized one after the other (the one shrinking
most first; rows first when equal) in double precision, and integer images are
rounded (half away from zero) and clipped once, at the end: BasicSR's MATLAB
scripts call ``im2double`` first and ``imwrite`` the double result, and its
``matlab_functions.imresize`` works in floats (rounding between the passes, as
``imresize`` of a uint8 array does, differs by up to 6 levels); the output size
is ``ceil(size * scale)``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..degrade.bicubic import contributions
from ..errors import DalisrError
from ..formats.codec import encode_png
from .files import list_images, read_image, staged_folder, write_bytes
from .pool import ordered_map
from .safe_output import tree_bytes

log = logging.getLogger(__name__)

def _round_like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.floor(np.clip(values, info.min, info.max) + 0.5).astype(dtype)  # MATLAB's round for >= 0
    return values.astype(dtype)


def _resize_along(img: np.ndarray, dim: int, weights: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """One dimension resized, in float64 (no rounding)."""
    moved = np.moveaxis(img, dim, 0).astype(np.float64, copy=False)
    out = np.zeros((weights.shape[0],) + moved.shape[1:], dtype=np.float64)
    extra = (slice(None),) + (None,) * (moved.ndim - 1)
    for j in range(weights.shape[1]):
        out += weights[:, j][extra] * moved[indices[:, j]]
    return np.moveaxis(out, 0, dim)


def output_size(size: int, factor: int) -> int:
    """``ceil(size / factor)``, MATLAB's ``ceil(size * scale)`` for scale = 1/factor."""
    return -(-size // factor)


def imresize_down(img: np.ndarray, factor: int) -> np.ndarray:
    """``imresize(img, 1/factor, 'bicubic')`` as MATLAB computes it (HxW or HxWxC)."""
    if factor < 1:
        raise DalisrError(f"--scale must be at least 1, got {factor}")
    if img.ndim not in (2, 3):
        raise DalisrError(f"cannot resize an array of shape {img.shape}: expected HxW or HxWxC")
    scale = 1.0 / factor
    out = img.astype(np.float64)
    for dim in (0, 1):  # equal scales: MATLAB's stable sort keeps rows first
        length = img.shape[dim]
        weights, indices = contributions(length, output_size(length, factor), scale)
        out = _resize_along(out, dim, weights, indices)
    return _round_like(out, img.dtype)


@dataclass
class MakeLrResult:
    images: int = 0
    #: inputs whose height or width is not a multiple of the scale (their LR is ceil(size / scale))
    not_divisible: list[str] = field(default_factory=list)


def _lr_one(job: tuple[str, str, int, int]) -> tuple[str, bool]:
    src, dst, factor, level = job
    img = read_image(src)
    if img.dtype not in (np.uint8, np.uint16):
        raise DalisrError(f"{src} has pixel type {img.dtype}; make-lr reads 8- or 16-bit images")
    write_bytes(dst, encode_png(imresize_down(img, factor), level))
    h, w = img.shape[:2]
    return src, (h % factor == 0 and w % factor == 0)


def lr_name(rel: str, suffix: str) -> str:
    stem, _ = os.path.splitext(rel)
    return f"{stem}{suffix}.png"


def make_lr(hr_folder: str, lr_folder: str, *, scale: int = 4, compress_level: int = 3, suffix: str = "",
            workers: int = 1, overwrite: bool = False, files: list[str] | None = None,
            progress: Callable[[int], None] | None = None) -> MakeLrResult:
    """Bicubic LR images (MATLAB's imresize) of every image in and below ``hr_folder``.

    Names and sub-folders are kept (``suffix`` is appended to the stem, e.g.
    ``x4`` for DIV2K's ``0001x4.png``); files are PNGs at ``compress_level``.
    ``lr_folder`` appears only when every image is done.
    """
    if scale < 2:
        raise DalisrError(f"--scale must be 2 or more, got {scale}")
    if not 0 <= compress_level <= 9:
        raise DalisrError(f"--compress-level must be 0..9, got {compress_level}")
    if files is None:
        files = list_images(hr_folder, recursive=True, what="HR folder")
    seen: dict[str, str] = {}
    for rel in files:
        name = lr_name(rel, suffix)
        if name in seen:
            raise DalisrError(f"{seen[name]} and {rel} in {hr_folder} would both be written as {name}. "
                              "Fix: move one of them out of the folder")
        seen[name] = rel
    os.makedirs(os.path.dirname(os.path.abspath(lr_folder)), exist_ok=True)
    result = MakeLrResult()
    expected = tree_bytes([os.path.join(hr_folder, rel) for rel in files]) // (scale * scale)
    with staged_folder(lr_folder, overwrite, expected_bytes=expected) as tmp:
        jobs = [(os.path.join(hr_folder, rel), os.path.join(tmp, lr_name(rel, suffix)), scale, compress_level)
                for rel in files]
        for src, divisible in ordered_map(_lr_one, jobs, workers):
            result.images += 1
            if not divisible:
                result.not_divisible.append(src)
            if progress:
                progress(1)
    return result
