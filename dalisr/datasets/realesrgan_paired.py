"""RealESRGANPairedDataset's index: PairedImageDataset's samples under Real-ESRGAN's list rules.

BasicSR's rules for it: LMDBs list their keys from meta info (as
PairedImageDataset); otherwise a ``meta_info`` file (note: not
``meta_info_file``, which this type ignores) whose lines are
``gt_relpath, lq_relpath``; otherwise a folder scan with ``filename_tmpl``.
Crop, flips, ``mean``/``std`` and the batch keys (``lq``, ``gt``,
``lq_path``, ``gt_path``) are PairedImageDataset's.
"""

from __future__ import annotations

import logging
import os

from ..config import DatasetConfig
from ..errors import DalisrError
from ..storage import Store
from .base import Sample
from .paired import PairedDataset, check_shapes, make_sample, open_paired_stores, paired_dataset

log = logging.getLogger(__name__)


def from_meta_info(cfg: DatasetConfig) -> list[Sample] | None:
    """Pairs from ``meta_info`` lines ``gt_relpath, lq_relpath``; None where it is not set (folder scan)."""
    path = cfg.get("meta_info")
    if not path:
        if cfg.get("meta_info_file"):
            log.warning("%s is ignored by RealESRGANPairedDataset (BasicSR reads 'meta_info' with "
                        "'gt_path, lq_path' lines); scanning the folders instead", cfg.where("meta_info_file"))
        return None
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except FileNotFoundError:
        raise DalisrError(f"{cfg.where('meta_info')}: {path} does not exist. Fix: point meta_info at a file of "
                          "'gt_relpath, lq_relpath' lines") from None
    samples = []
    for lineno, line in enumerate(lines, 1):
        if not line:
            continue
        parts = line.split(", ")
        if len(parts) != 2 or not all(parts):
            raise DalisrError(f"{path}:{lineno}: expected 'gt_relpath, lq_relpath' (comma and one space), "
                              f"got: {line}")
        gt_key, lq_key = parts
        samples.append(make_sample(gt_key, lq_key, os.path.join(cfg["dataroot_gt"], gt_key),
                                   os.path.join(cfg["dataroot_lq"], lq_key)))
    return samples


def build_realesrgan_paired(cfg: DatasetConfig) -> tuple[PairedDataset, dict[str, Store]]:
    stores = open_paired_stores(cfg)
    dataset = paired_dataset(cfg, stores, listed=from_meta_info)
    if cfg.phase == "train":
        check_shapes(dataset, cfg["scale"], cfg.get("gt_size"), f"{stores['lq'].describe()} meta_info.txt")
    return dataset, stores
