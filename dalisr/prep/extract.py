"""``extract-subimages``: BasicSR's extract_subimages over a folder, and its DIV2K preset."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2

from ..errors import DalisrError
from .files import check_output, list_images, read_image, staged_folder, write_bytes
from .pool import ordered_map
from .safe_output import tree_bytes
from .subimages import iter_subimages, subimage_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PresetFolder:
    """One folder of BasicSR's DIV2K recipe: input, output, crop size and step (thresh 0)."""

    input: str
    output: str
    crop_size: int
    step: int


#: BasicSR scripts/data_preparation/extract_subimages.py, paths relative to the DIV2K root
DIV2K_PRESET = (
    PresetFolder("DIV2K_train_HR", "DIV2K_train_HR_sub", 480, 240),
    PresetFolder("DIV2K_train_LR_bicubic/X2", "DIV2K_train_LR_bicubic/X2_sub", 240, 120),
    PresetFolder("DIV2K_train_LR_bicubic/X3", "DIV2K_train_LR_bicubic/X3_sub", 160, 80),
    PresetFolder("DIV2K_train_LR_bicubic/X4", "DIV2K_train_LR_bicubic/X4_sub", 120, 60),
)


@dataclass
class ExtractResult:
    images: int = 0
    subimages: int = 0
    #: inputs smaller than the crop size (no window fits; BasicSR would crash on them)
    too_small: list[str] = field(default_factory=list)


def check_options(crop_size: int, step: int, thresh_size: int, level: int) -> None:
    if crop_size < 1:
        raise DalisrError(f"--crop-size must be at least 1, got {crop_size}")
    if step < 1:
        raise DalisrError(f"--step must be at least 1, got {step}")
    if thresh_size < 0:
        raise DalisrError(f"--thresh-size must be 0 or more, got {thresh_size}")
    if not 0 <= level <= 9:
        raise DalisrError(f"--compression-level must be 0..9, got {level}")


def plan_extract(input_folder: str) -> list[str]:
    """The input images (sorted, not recursive, as BasicSR) after checking names do not collide."""
    files = list_images(input_folder)
    seen: dict[str, str] = {}
    for rel in files:
        stem, ext = os.path.splitext(rel)
        name = subimage_name(stem) + ext
        if name in seen:
            raise DalisrError(
                f"{seen[name]} and {rel} in {input_folder} both give sub-images named {subimage_name(stem)}_sNNN{ext} "
                "(x2/x3/x4/x8 are removed from names). Fix: move one of them out of the folder"
            )
        seen[name] = rel
    return files


def _extract_one(job: tuple[str, str, int, int, int, int]) -> tuple[str, int]:
    path, out_dir, crop, step, thresh, level = job
    stem, ext = os.path.splitext(os.path.basename(path))
    name = subimage_name(stem)
    img = read_image(path)
    params = [cv2.IMWRITE_PNG_COMPRESSION, level] if ext.lower() == ".png" else []
    count = 0
    for index, window in iter_subimages(img, crop, step, thresh):
        ok, buf = cv2.imencode(ext, window, params)
        if not ok:
            raise DalisrError(f"OpenCV could not encode a sub-image of {path} as {ext}")
        write_bytes(os.path.join(out_dir, f"{name}_s{index:03d}{ext}"), buf.tobytes())
        count += 1
    return path, count


def extract_subimages(input_folder: str, output_folder: str, *, crop_size: int = 480, step: int = 240,
                      thresh_size: int = 0, compression_level: int = 3, workers: int = 1,
                      overwrite: bool = False, files: list[str] | None = None,
                      progress: Callable[[int], None] | None = None) -> ExtractResult:
    """Cut every image of ``input_folder`` into overlapping windows written to ``output_folder``.

    Windows start at 0, step, 2*step, ... and once more at ``size - crop_size``
    when what is left exceeds ``thresh_size``, in rows then columns; they are
    named ``{name}_s{index:03d}{ext}`` (index from 1, ``x2/x3/x4/x8`` removed
    from ``name``) and keep the input's format, PNGs at ``compression_level``.
    The output appears only when every image is done.
    """
    check_options(crop_size, step, thresh_size, compression_level)
    if files is None:
        files = plan_extract(input_folder)
    result = ExtractResult()
    # every pixel is in about (crop / step)^2 windows
    expected = int(tree_bytes([os.path.join(input_folder, rel) for rel in files]) * min(crop_size / step, 4) ** 2)
    with staged_folder(output_folder, overwrite, expected_bytes=expected) as tmp:
        jobs = [(os.path.join(input_folder, rel), tmp, crop_size, step, thresh_size, compression_level)
                for rel in files]
        for path, count in ordered_map(_extract_one, jobs, workers):
            result.images += 1
            result.subimages += count
            if count == 0:
                log.warning("%s is smaller than the crop size %d: no sub-image", path, crop_size)
                result.too_small.append(path)
            if progress:
                progress(1)
    return result


def div2k_plan(root: str, overwrite: bool = False) -> tuple[list[PresetFolder], list[str], list[str]]:
    """(folders to do, inputs missing, outputs already there) for the DIV2K preset under ``root``."""
    if not os.path.isdir(root):
        raise DalisrError(f"DIV2K root {root} does not exist. Fix: pass the folder holding DIV2K_train_HR")
    todo, missing, done = [], [], []
    for folder in DIV2K_PRESET:
        src, dst = os.path.join(root, folder.input), os.path.join(root, folder.output)
        if not os.path.isdir(src):
            missing.append(src)
        elif os.path.exists(dst) and not overwrite:
            done.append(dst)
        else:
            check_output(dst, overwrite=True)
            todo.append(folder)
    if not todo and not done:
        raise DalisrError(f"none of DIV2K's folders ({', '.join(f.input for f in DIV2K_PRESET)}) is under {root}. "
                          "Fix: pass the DIV2K root (e.g. datasets/DIV2K)")
    return todo, missing, done
