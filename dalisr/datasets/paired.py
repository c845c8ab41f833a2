"""PairedImageDataset's index: which GT and LQ keys form a sample (BasicSR's three rules)."""

from __future__ import annotations

import os
from collections.abc import Callable

from ..config import DatasetConfig
from ..errors import DalisrError
from ..formats.meta_info import read_meta_info
from ..storage import LmdbStore, Store, open_store
from .base import DatasetIndex, Sample, check_pair_shapes, check_same_keys, require_samples


def open_paired_stores(cfg: DatasetConfig) -> dict[str, Store]:
    backend = cfg.io_backend
    return {
        "gt": open_store(backend, cfg["dataroot_gt"], "dataroot_gt"),
        "lq": open_store(backend, cfg["dataroot_lq"], "dataroot_lq"),
    }


def _sample(gt_key: str, lq_key: str, gt_path: str, lq_path: str, shapes=None) -> Sample:
    return Sample(keys={"gt": (gt_key,), "lq": (lq_key,)}, paths={"gt": gt_path, "lq": lq_path}, shapes=shapes,
                  name=os.path.splitext(os.path.basename(gt_key))[0])


def _from_lmdb(gt: LmdbStore, lq: LmdbStore) -> list[Sample]:
    """Both LMDBs' meta info must list the same keys; paths are the keys (as BasicSR)."""
    gt_meta = {e.key: e for e in gt.meta()}
    lq_meta = {e.key: e for e in lq.meta()}
    check_same_keys(gt_meta, lq_meta, gt.meta_info_path, lq.meta_info_path)
    return [
        _sample(key, key, key, key, {"gt": (gt_meta[key].shape,), "lq": (lq_meta[key].shape,)})
        for key in sorted(lq_meta)
    ]


def _lq_name(gt_name: str, tmpl: str) -> str:
    base, ext = os.path.splitext(os.path.basename(gt_name))
    return tmpl.format(base) + ext


def from_meta_info_file(cfg: DatasetConfig) -> list[Sample] | None:
    """PairedImageDataset's list: GT names from ``meta_info_file``, LQ names by ``filename_tmpl``; None if unset."""
    if not cfg.get("meta_info_file"):
        return None
    tmpl = cfg.get("filename_tmpl", "{}")
    samples = []
    for entry in read_meta_info(cfg["meta_info_file"]):
        gt_key = entry.name
        lq_key = os.path.join(os.path.dirname(gt_key), _lq_name(gt_key, tmpl))
        samples.append(_sample(gt_key, lq_key, os.path.join(cfg["dataroot_gt"], gt_key),
                               os.path.join(cfg["dataroot_lq"], lq_key)))
    return samples


def make_sample(gt_key: str, lq_key: str, gt_path: str, lq_path: str) -> Sample:
    """One GT/LQ pair (for the other paired types' own list rules)."""
    return _sample(gt_key, lq_key, gt_path, lq_path)


def _from_folders(cfg: DatasetConfig, gt: Store, lq: Store) -> list[Sample]:
    tmpl = cfg.get("filename_tmpl", "{}")
    gt_keys = gt.keys() or []
    lq_keys = lq.keys() or []
    expected_lq = {_lq_name(k, tmpl): k for k in gt_keys}
    check_same_keys(expected_lq, lq_keys, f"{cfg['dataroot_gt']} (with filename_tmpl '{tmpl}')", cfg["dataroot_lq"])
    return [
        _sample(gt_key, lq_key, os.path.join(cfg["dataroot_gt"], gt_key), os.path.join(cfg["dataroot_lq"], lq_key))
        for lq_key, gt_key in sorted(expected_lq.items(), key=lambda kv: kv[1])
    ]


def paired_index(cfg: DatasetConfig, stores: dict[str, Store] | None = None,
                 listed: Callable[[DatasetConfig], list[Sample] | None] = from_meta_info_file) -> list[Sample]:
    """Samples in BasicSR's order: LMDB meta info, else the ``listed`` rule (a list file), else a folder scan."""
    stores = stores or open_paired_stores(cfg)
    gt, lq = stores["gt"], stores["lq"]
    if isinstance(gt, LmdbStore) and isinstance(lq, LmdbStore):
        samples = _from_lmdb(gt, lq)
    elif isinstance(gt, LmdbStore) or isinstance(lq, LmdbStore):
        raise DalisrError(f"dataroot_gt and dataroot_lq must use the same backend in {cfg.origin}")
    else:
        samples = listed(cfg)
        if samples is None:
            samples = _from_folders(cfg, gt, lq)
    require_samples(samples, f"{cfg.origin} ({gt.describe()})")
    return samples


class PairedDataset(DatasetIndex):
    """GT and LQ images, one key each per sample; batches carry ``gt_path`` and ``lq_path``."""

    roles = {"gt": 1, "lq": 1}


def check_shapes(samples: list[Sample], scale: int, gt_size: int | None, where: str) -> None:
    """Scale and size checks from meta info shapes, before any pipeline starts."""
    for s in samples:
        if not s.shapes or s.shapes["gt"][0] is None or s.shapes["lq"][0] is None:
            continue
        (hg, wg, *_), (hl, wl, *_) = s.shapes["gt"][0], s.shapes["lq"][0]
        check_pair_shapes((hg, wg), (hl, wl), s.keys["lq"][0], where, scale, gt_size)


def build_paired(cfg: DatasetConfig) -> tuple[PairedDataset, dict[str, Store]]:
    stores = open_paired_stores(cfg)
    samples = paired_index(cfg, stores)
    if cfg.phase == "train":
        check_shapes(samples, cfg["scale"], cfg.get("gt_size"), f"{stores['lq'].describe()} meta_info.txt")
    return PairedDataset(samples), stores
