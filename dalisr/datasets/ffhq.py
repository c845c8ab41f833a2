"""FFHQDataset's index: GT faces only, from the LMDB's meta info or the image folder's listing.

BasicSR lists ``{v:08d}.png for v in range(70000)`` for a folder; here the
folder's own image files are the samples, so a subset or another face set
works too. Batches carry ``gt_path`` (the file path; for LMDB the key).
The keys are a :class:`~dalisr.datasets.keytable.KeyTable`, shared with DALI's workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..errors import DalisrError
from ..storage import Store, open_store
from .base import DatasetIndex, Sample, require_samples
from .keytable import KeyTable
from .shared import collector_paused


class FFHQDataset(DatasetIndex):
    """One GT image per sample; no LQ. ``root`` None: the path is the key (LMDB)."""

    roles = {"gt": 1}

    def __init__(self, keys: KeyTable, root: str | None = None) -> None:
        self.keys = keys
        self.root = root

    def __len__(self) -> int:
        return len(self.keys)

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        return {"gt": (self.keys[index],)}

    def name(self, index: int) -> str:
        return self.keys[index] or str(index)

    def _path(self, key: str) -> str:
        return key if self.root is None else os.path.join(self.root, key)

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        return {"gt_path": [self._path(self.keys[int(i)]) for i in indices]}

    def fingerprint(self) -> str:
        return f"{type(self).__name__}:{self.keys.digest()}"

    @property
    def samples(self) -> list[Sample]:
        """Every sample as an object (slow for big indexes: for tests and small tools, not the pipeline)."""
        return [Sample(keys={"gt": (k,)}, paths={"gt": self._path(k)}, name=k) for k in self.keys.tolist()]


def _check_sizes(cfg: DatasetConfig, store: Store) -> None:
    """Every face at least gt_size, from the meta info: once per distinct shape, naming the first too small."""
    gt_size = cfg.get("gt_size") if cfg.phase == "train" else None
    if not gt_size:
        return
    table = store.meta_table()
    small = [k for k, (shape, _) in enumerate(table.tails)
             if shape is not None and (shape[0] < gt_size or shape[1] < gt_size)]
    if not small:
        return
    at = int(np.flatnonzero(np.isin(table.kinds, small))[0])
    h, w = table.tails[int(table.kinds[at])][0][:2]
    key = os.path.splitext(table.names[at])[0]
    raise DalisrError(f"image '{key}' in {store.describe()} is {h}x{w}, smaller "
                      f"than gt_size {gt_size}. Fix: lower gt_size or remove the image")


def ffhq_dataset(cfg: DatasetConfig, store: Store) -> FFHQDataset:
    """LMDB: the keys of ``meta_info.txt`` in file order; otherwise the folder's image files, sorted."""
    with collector_paused():
        if store.kind == "lmdb":
            _check_sizes(cfg, store)
            return FFHQDataset(KeyTable.from_strings(store.meta_table().keys()))
        return FFHQDataset(KeyTable.from_strings(store.keys()), root=cfg["dataroot_gt"])


def ffhq_index(cfg: DatasetConfig, store: Store) -> list[Sample]:
    """The samples of :func:`ffhq_dataset` as objects (for tests and small tools)."""
    return ffhq_dataset(cfg, store).samples


def build_ffhq(cfg: DatasetConfig) -> tuple[FFHQDataset, dict[str, Store]]:
    store = open_store(cfg.io_backend, cfg["dataroot_gt"], "dataroot_gt")
    dataset = ffhq_dataset(cfg, store)
    require_samples(dataset, f"{cfg.origin} ({store.describe()})")
    return dataset, {"gt": store}
