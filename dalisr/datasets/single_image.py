"""SingleImageDataset's index: LQ images only (inference / val sets without GT).

BasicSR's list rules: an LMDB's ``meta_info.txt`` keys in file order; else
the names of ``meta_info_file`` (first token of each line) under
``dataroot_lq``; else the folder's files, sorted. Whole images, never cropped
or flipped. Batches carry ``lq`` and ``lq_path`` (the file path; for LMDB the key).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..errors import DalisrError
from ..storage import Store, open_store
from .base import DatasetIndex, require_samples


class SingleImageDataset(DatasetIndex):
    """One LQ image per sample; keys as the store reads them, paths as BasicSR reports them."""

    roles = {"lq": 1}

    def __init__(self, keys: Sequence[str], root: str | None) -> None:
        self.keys = list(keys)
        self.root = root  # None: the path is the key (LMDB)

    def __len__(self) -> int:
        return len(self.keys)

    def name(self, index: int) -> str:
        return os.path.splitext(os.path.basename(self.keys[index]))[0]

    def path(self, index: int) -> str:
        key = self.keys[index]
        return key if self.root is None else os.path.join(self.root, key)

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        return {"lq": (self.keys[index],)}

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        return {"lq_path": [self.path(int(i)) for i in indices]}


def _listed(path: str, where: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [line.split()[0] for line in f if line.strip()]
    except FileNotFoundError:
        raise DalisrError(f"{where}: {path} does not exist. Fix: point it at a file with one image name per "
                          "line, or remove it to scan dataroot_lq") from None


def build_single_image(cfg: DatasetConfig) -> tuple[SingleImageDataset, dict[str, Store]]:
    root = cfg["dataroot_lq"]
    store = open_store(cfg.io_backend, root, "dataroot_lq")
    if store.kind == "lmdb":
        dataset = SingleImageDataset([e.key for e in store.meta()], None)
    elif cfg.get("meta_info_file"):
        dataset = SingleImageDataset(_listed(cfg["meta_info_file"], cfg.where("meta_info_file")), root)
    else:
        dataset = SingleImageDataset(store.keys() or [], root)
    require_samples(range(len(dataset)), f"{cfg.origin} ({store.describe()})")
    return dataset, {"lq": store}
