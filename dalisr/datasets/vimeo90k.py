"""Vimeo90KDataset's index: one septuplet per sample, GT ``im4``, LQ the ``num_frame`` middle frames.

``random_reverse`` is decided per sample from that sample's own draw; the
neighbour list itself is never changed (BasicSR reverses its shared list in
place, so one sample's order leaks into every later one in that worker).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..errors import DalisrError
from ..formats.meta_info import read_sequence_list
from ..storage import Store, open_store
from .base import DatasetIndex, Sample, require_samples
from .keytable import KeyTable
from .reds import key_suffix, require_lmdb_keys

SEPTUPLET = 7
GT_FRAME = 4


def neighbor_list(num_frame: int) -> tuple[int, ...]:
    """BasicSR's ``[i + (9 - k) // 2 for i in range(k)]``: 7 -> 1..7, 5 -> 2..6, 3 -> 3..5, 1 -> 4."""
    return tuple(i + (9 - num_frame) // 2 for i in range(num_frame))


class Vimeo90KDataset(DatasetIndex):
    """GT ``clip/seq/im4``, LQ ``clip/seq/im{n}`` for the neighbour list, reversed per sample's draw."""

    #: LQ is a frame stack, T x C x H x W even for num_frame 1 (as BasicSR's torch.stack gives it)
    sequences = frozenset({"lq"})

    def __init__(self, keys: Sequence[str], num_frame: int, random_reverse: bool, suffix: str) -> None:
        self.roles = {"gt": 1, "lq": num_frame}
        self.neighbors = neighbor_list(num_frame)
        self.random_reverse = bool(random_reverse)
        self.suffix = suffix
        self.seq_keys = keys if isinstance(keys, KeyTable) else KeyTable.from_strings(keys)

    def __len__(self) -> int:
        return len(self.seq_keys)

    def name(self, index: int) -> str:
        return self.seq_keys[index] or str(index)

    def fingerprint(self) -> str:
        return f"{type(self).__name__}:{self.roles['lq']}:{self.seq_keys.digest()}"

    @property
    def samples(self) -> list[Sample]:
        """Every sample as an object (slow for big indexes: for tests and small tools, not the pipeline)."""
        return [Sample(keys={}, paths={}, name=k) for k in self.seq_keys.tolist()]

    def order(self, rng: np.random.Generator) -> tuple[int, ...]:
        """The LQ frame numbers of one sample, in output order (a fresh tuple: nothing shared changes)."""
        if self.random_reverse and rng.random() < 0.5:
            return self.neighbors[::-1]
        return self.neighbors

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        key, s = self.seq_keys[index], self.suffix
        return {"gt": (f"{key}/im{GT_FRAME}{s}",), "lq": tuple(f"{key}/im{n}{s}" for n in self.order(rng))}

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        """``key``: the sequence, ``clip/seq``, as BasicSR reports it."""
        return {"key": [self.seq_keys[int(i)] for i in indices]}


def open_septuplets(cfg: DatasetConfig) -> tuple[str, list[str], dict[str, Store]]:
    """What both Vimeo90K kinds read first: the meta info file, its ``clip/seq`` keys and the GT / LQ stores."""
    if cfg.get("dataroot_flow") is not None:
        raise DalisrError(f"{cfg.where('dataroot_flow')} is set: optical flow is not supported by dalisr. "
                          "Fix: set dataroot_flow: ~")
    meta = cfg["meta_info_file"]
    backend = cfg.io_backend
    stores = {"gt": open_store(backend, cfg["dataroot_gt"], "dataroot_gt"),
              "lq": open_store(backend, cfg["dataroot_lq"], "dataroot_lq")}
    return meta, read_sequence_list(meta), stores


def build_vimeo90k(cfg: DatasetConfig) -> tuple[Vimeo90KDataset, dict[str, Store]]:
    num_frame = cfg["num_frame"]
    if num_frame > SEPTUPLET:
        raise DalisrError(f"{cfg.where('num_frame')} is {num_frame}, but a Vimeo90K septuplet has "
                          f"{SEPTUPLET} frames. Fix: use 7 or fewer")
    meta, keys, stores = open_septuplets(cfg)
    dataset = Vimeo90KDataset(keys, num_frame, bool(cfg.get("random_reverse", False)), key_suffix(stores["gt"]))
    require_samples(dataset, meta)
    require_lmdb_keys(stores["gt"], (f"{k}/im{GT_FRAME}" for k in keys), meta)
    require_lmdb_keys(stores["lq"], (f"{k}/im{n}" for k in keys for n in dataset.neighbors), meta)
    return dataset, stores
