"""FFHQDataset's index: GT faces only, from the LMDB's meta info or the image folder's listing.

BasicSR lists ``{v:08d}.png for v in range(70000)`` for a folder; here the
folder's own image files are the samples, so a subset or another face set
works too. Batches carry ``gt_path`` (the file path; for LMDB the key).
"""

from __future__ import annotations

import os

from ..config import DatasetConfig
from ..errors import DalisrError
from ..storage import Store, open_store
from .base import DatasetIndex, Sample, require_samples


class FFHQDataset(DatasetIndex):
    """One GT image per sample; no LQ."""

    roles = {"gt": 1}


def _sample(key: str, path: str) -> Sample:
    return Sample(keys={"gt": (key,)}, paths={"gt": path}, name=key)


def ffhq_index(cfg: DatasetConfig, store: Store) -> list[Sample]:
    """LMDB: the keys of ``meta_info.txt`` in file order; otherwise the folder's image files, sorted."""
    if store.kind == "lmdb":
        entries = store.meta()
        gt_size = cfg.get("gt_size") if cfg.phase == "train" else None
        if gt_size:
            for e in entries:
                if e.shape is not None and (e.shape[0] < gt_size or e.shape[1] < gt_size):
                    raise DalisrError(f"image '{e.key}' in {store.describe()} is {e.shape[0]}x{e.shape[1]}, smaller "
                                      f"than gt_size {gt_size}. Fix: lower gt_size or remove the image")
        return [_sample(e.key, e.key) for e in entries]
    root = cfg["dataroot_gt"]
    return [_sample(name, os.path.join(root, name)) for name in store.keys()]


def build_ffhq(cfg: DatasetConfig) -> tuple[FFHQDataset, dict[str, Store]]:
    store = open_store(cfg.io_backend, cfg["dataroot_gt"], "dataroot_gt")
    samples = ffhq_index(cfg, store)
    require_samples(samples, f"{cfg.origin} ({store.describe()})")
    return FFHQDataset(samples), {"gt": store}
