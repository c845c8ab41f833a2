"""A small DIV2K-like paired set from the photographs scikit-image ships (no download)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..formats.codec import encode_png, image_shape
from .lmdb_writer import LmdbWriter
from .subimages import iter_subimages

log = logging.getLogger(__name__)

# photographs at least 480 px on each side, shipped inside scikit-image's wheel
PHOTOS = ("astronaut", "immunohistochemistry", "hubble_deep_field", "retina", "stereo_motorcycle", "camera")
SCALES = (2, 3, 4)
GT_SIZE, STEP = 480, 240


@dataclass(frozen=True)
class SampleSet:
    """Where the sample set lies; folder and LMDB names follow BasicSR's DIV2K docs."""

    root: str

    @property
    def gt_folder(self) -> str:
        return os.path.join(self.root, "DIV2K_train_HR_sub")

    def lq_folder(self, scale: int) -> str:
        return os.path.join(self.root, "DIV2K_train_LR_bicubic", f"X{scale}_sub")

    @property
    def gt_lmdb(self) -> str:
        return os.path.join(self.root, "DIV2K_train_HR_sub.lmdb")

    def lq_lmdb(self, scale: int) -> str:
        return os.path.join(self.root, f"DIV2K_train_LR_bicubic_X{scale}_sub.lmdb")

    def exists(self) -> bool:
        return all(os.path.isdir(p) for p in [self.gt_folder, self.gt_lmdb]
                   + [self.lq_folder(s) for s in SCALES] + [self.lq_lmdb(s) for s in SCALES])


def load_photo(name: str) -> np.ndarray:
    """A scikit-image photo as OpenCV's BGR (or gray) uint8."""
    import skimage.data

    img = getattr(skimage.data, name)()
    if isinstance(img, tuple):  # stereo pairs: take the left view
        img = img[0]
    if img.ndim == 3:
        img = np.ascontiguousarray(img[:, :, 2::-1])  # RGB(A) -> BGR
    return img


def downscale(img: np.ndarray, scale: int) -> np.ndarray:
    """The ``scale`` x ``scale`` block mean (``cv2.INTER_AREA``): LQ exactly aligned to GT."""
    h, w = img.shape[:2]
    return cv2.resize(img, (w // scale, h // scale), interpolation=cv2.INTER_AREA)


def make_sample_set(root: str, *, photos: tuple[str, ...] = PHOTOS, limit: int | None = None,
                    png_level: int = 3, lmdb_level: int = 1, lmdb: bool = True,
                    progress: Callable[[int], None] | None = None) -> SampleSet:
    """Write GT sub-images (480 px, step 240), x2/x3/x4 LQ, and their BasicSR LMDBs under ``root``.

    ``limit`` caps the number of sub-images (tests use a handful). Folders hold
    PNGs at ``png_level`` (3, as BasicSR's extract_subimages); LMDB values are
    re-encoded at ``lmdb_level`` (1, BasicSR's default).
    """
    out = SampleSet(os.path.abspath(root))
    for folder in [out.gt_folder] + [out.lq_folder(s) for s in SCALES]:
        os.makedirs(folder, exist_ok=True)
    items: list[tuple[str, np.ndarray]] = []
    for number, photo in enumerate(photos, start=1):
        img = load_photo(photo)
        for index, crop in iter_subimages(img, GT_SIZE, STEP):
            items.append((f"{number:04d}_s{index:03d}", crop))
            if limit is not None and len(items) >= limit:
                break
        if limit is not None and len(items) >= limit:
            break
    writers = {}
    if lmdb:
        writers["gt"] = LmdbWriter(out.gt_lmdb, overwrite=True)
        for s in SCALES:
            writers[s] = LmdbWriter(out.lq_lmdb(s), overwrite=True)
        for w in writers.values():
            w.__enter__()
    try:
        for name, gt in items:
            versions = {"gt": gt, **{s: downscale(gt, s) for s in SCALES}}
            for which, img in versions.items():
                folder = out.gt_folder if which == "gt" else out.lq_folder(which)
                with open(os.path.join(folder, f"{name}.png"), "wb") as f:
                    f.write(encode_png(img, png_level))
                if lmdb:
                    writers[which].put(name, encode_png(img, lmdb_level), f"{name}.png", image_shape(img), lmdb_level)
            if progress:
                progress(1)
    except BaseException as exc:
        for w in writers.values():
            w.__exit__(type(exc), exc, None)
        raise
    for w in writers.values():
        w.__exit__(None, None, None)
    log.info("sample set with %d sub-images written to %s", len(items), out.root)
    return out


def count_subimages(photos: tuple[str, ...] = PHOTOS) -> int:
    return sum(1 for p in photos for _ in iter_subimages(load_photo(p), GT_SIZE, STEP))
