"""PairedImageDataset's index: which GT and LQ keys form a sample (BasicSR's three rules).

The index is a :class:`~dalisr.datasets.keytable.KeyTable` of GT keys (shared
with DALI's workers, never copied into them); the LQ key of a sample is the GT
key itself (LMDB) or derived from it with ``filename_tmpl`` when read.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Sequence
from itertools import islice

import numpy as np

from ..config import DatasetConfig
from ..errors import DalisrError
from ..formats.meta_info import MetaTable, read_meta_table
from ..storage import LmdbStore, Store, open_store
from .base import DatasetIndex, Sample, check_pair_shapes, check_same_keys, check_scale, require_samples
from .keytable import KeyTable
from .shared import collector_paused

#: per role, the meta info's (shape, level) kind of every sample and the distinct (shape, level) pairs
Shapes = dict[str, tuple[np.ndarray, list[tuple]]]


def open_paired_stores(cfg: DatasetConfig) -> dict[str, Store]:
    backend = cfg.io_backend
    return {
        "gt": open_store(backend, cfg["dataroot_gt"], "dataroot_gt"),
        "lq": open_store(backend, cfg["dataroot_lq"], "dataroot_lq"),
    }


def _lq_name(gt_name: str, tmpl: str) -> str:
    base, ext = os.path.splitext(os.path.basename(gt_name))
    return tmpl.format(base) + ext


def lq_key_of(gt_key: str, tmpl: str) -> str:
    """The LQ key BasicSR pairs with ``gt_key`` under ``filename_tmpl`` (same folder, templated base name)."""
    return os.path.join(os.path.dirname(gt_key), _lq_name(gt_key, tmpl))


class PairedDataset(DatasetIndex):
    """GT and LQ images, one key each per sample; batches carry ``gt_path`` and ``lq_path``.

    ``filename_tmpl`` None: the LQ key is the GT key (LMDB). ``gt_root`` /
    ``lq_root`` None: the paths are the keys (LMDB), else the keys joined to
    them. A list of :class:`Sample` (other paired types' list rules) is taken
    too: its keys and paths are then stored as tables of their own.
    """

    roles = {"gt": 1, "lq": 1}

    def __init__(self, gt_keys: KeyTable | Sequence[Sample], *, filename_tmpl: str | None = None,
                 gt_root: str | None = None, lq_root: str | None = None, shapes: Shapes | None = None) -> None:
        self.lq_keys: KeyTable | None = None  # explicit LQ keys, where no rule derives them
        self.path_tables: dict[str, KeyTable] | None = None  # explicit paths, likewise
        if not isinstance(gt_keys, KeyTable):  # Sample objects
            samples = list(gt_keys)
            gt_keys = KeyTable.from_strings([s.keys["gt"][0] for s in samples])
            self.lq_keys = KeyTable.from_strings([s.keys["lq"][0] for s in samples])
            self.path_tables = {role: KeyTable.from_strings([s.paths[role] for s in samples]) for role in self.roles}
        self.gt_keys = gt_keys
        self.filename_tmpl = filename_tmpl
        self.roots = {"gt": gt_root, "lq": lq_root}
        self._shapes = shapes  # meta info shapes, for checks and ``samples``; they stay in this process

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_shapes": None}

    def __len__(self) -> int:
        return len(self.gt_keys)

    def pair(self, index: int) -> tuple[str, str]:
        gt = self.gt_keys[index]
        if self.lq_keys is not None:
            return gt, self.lq_keys[index]
        return gt, (gt if self.filename_tmpl is None else lq_key_of(gt, self.filename_tmpl))

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        gt, lq = self.pair(index)
        return {"gt": (gt,), "lq": (lq,)}

    def name(self, index: int) -> str:
        return os.path.splitext(os.path.basename(self.gt_keys[index]))[0] or str(index)

    def paths(self, index: int) -> tuple[str, str]:
        """(``gt_path``, ``lq_path``) of sample ``index`` as BasicSR reports them."""
        if self.path_tables is not None:
            return self.path_tables["gt"][index], self.path_tables["lq"][index]
        keys = self.pair(index)
        return tuple(k if self.roots[r] is None else os.path.join(self.roots[r], k) for r, k in zip(self.roots, keys))

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        paths = [self.paths(int(i)) for i in indices]
        return {"gt_path": [g for g, _ in paths], "lq_path": [q for _, q in paths]}

    def fingerprint(self) -> str:
        """A hash of the samples' keys in order: a hash of the key tables, no pass over Python strings."""
        lq = self.filename_tmpl if self.lq_keys is None else self.lq_keys.digest()
        return f"{type(self).__name__}:{lq}:{self.gt_keys.digest()}"

    def sample(self, index: int) -> Sample:
        gt, lq = self.pair(index)
        gt_path, lq_path = self.paths(index)
        shapes = None
        if self._shapes is not None:
            shapes = {role: (tails[int(kinds[index])][0],) for role, (kinds, tails) in self._shapes.items()}
        return Sample(keys={"gt": (gt,), "lq": (lq,)}, paths={"gt": gt_path, "lq": lq_path}, shapes=shapes,
                      name=self.name(index))

    @property
    def samples(self) -> list[Sample]:
        """Every sample as an object (slow for big indexes: for tests and small tools, not the pipeline)."""
        return [self.sample(i) for i in range(len(self))]


def make_sample(gt_key: str, lq_key: str, gt_path: str, lq_path: str) -> Sample:
    """One GT/LQ pair as an object (for other paired types' own list rules; ``PairedDataset`` takes a list)."""
    return Sample(keys={"gt": (gt_key,), "lq": (lq_key,)}, paths={"gt": gt_path, "lq": lq_path},
                  name=os.path.splitext(os.path.basename(gt_key))[0])


def strictly_increasing(keys: list[str]) -> bool:
    return all(map(operator.lt, keys, islice(keys, 1, None)))


def _positions(keys: list[str], order: list[str]) -> np.ndarray:
    """Where each of ``order`` sits in ``keys`` (the last occurrence, as a dict built from the file keeps)."""
    at = {k: i for i, k in enumerate(keys)}
    return np.fromiter((at[k] for k in order), dtype=np.int64, count=len(order))


def _from_lmdb(gt: LmdbStore, lq: LmdbStore) -> PairedDataset:
    """Both LMDBs' meta info must list the same keys; samples in key order; paths are the keys (as BasicSR)."""
    gt_meta, lq_meta = gt.meta_table(), lq.meta_table()
    gt_keys, lq_keys = gt_meta.keys(), lq_meta.keys()
    same = gt_keys == lq_keys
    if not same:
        check_same_keys(gt_keys, lq_keys, gt.meta_info_path, lq.meta_info_path)
    if same and strictly_increasing(lq_keys):  # the usual case: one sorted list, every key once
        order = lq_keys
        kinds = {"gt": gt_meta.kinds, "lq": lq_meta.kinds}
    else:
        order = sorted(set(lq_keys))
        kinds = {"gt": gt_meta.kinds[_positions(gt_keys, order)], "lq": lq_meta.kinds[_positions(lq_keys, order)]}
    tails: dict[str, MetaTable] = {"gt": gt_meta, "lq": lq_meta}
    shapes = {role: (kinds[role], tails[role].tails) for role in ("gt", "lq")}
    return PairedDataset(KeyTable.from_strings(order), shapes=shapes)


def _from_meta_info_file(cfg: DatasetConfig) -> PairedDataset:
    names = read_meta_table(cfg["meta_info_file"]).names
    return PairedDataset(KeyTable.from_strings(names), filename_tmpl=cfg.get("filename_tmpl", "{}"),
                         gt_root=cfg["dataroot_gt"], lq_root=cfg["dataroot_lq"])


def _from_folders(cfg: DatasetConfig, gt: Store, lq: Store) -> PairedDataset:
    tmpl = cfg.get("filename_tmpl", "{}")
    gt_keys = gt.keys() or []
    lq_keys = lq.keys() or []
    expected_lq = {_lq_name(k, tmpl): k for k in gt_keys}
    check_same_keys(expected_lq, lq_keys, f"{cfg['dataroot_gt']} (with filename_tmpl '{tmpl}')", cfg["dataroot_lq"])
    order = [gt_key for _, gt_key in sorted(expected_lq.items(), key=lambda kv: kv[1])]
    return PairedDataset(KeyTable.from_strings(order), filename_tmpl=tmpl, gt_root=cfg["dataroot_gt"],
                         lq_root=cfg["dataroot_lq"])


#: another paired type's list rule: its samples from the options, or None where its list file is unset
ListRule = Callable[[DatasetConfig], "list[Sample] | None"]


def paired_dataset(cfg: DatasetConfig, stores: dict[str, Store] | None = None,
                   listed: ListRule | None = None) -> PairedDataset:
    """Samples in BasicSR's order: LMDB meta info, else ``meta_info_file`` (or the ``listed`` rule, which
    replaces it), else a folder scan."""
    stores = stores or open_paired_stores(cfg)
    gt, lq = stores["gt"], stores["lq"]
    with collector_paused():
        if isinstance(gt, LmdbStore) and isinstance(lq, LmdbStore):
            dataset = _from_lmdb(gt, lq)
        elif isinstance(gt, LmdbStore) or isinstance(lq, LmdbStore):
            raise DalisrError(f"dataroot_gt and dataroot_lq must use the same backend in {cfg.origin}")
        elif listed is not None:
            samples = listed(cfg)
            dataset = PairedDataset(samples) if samples is not None else _from_folders(cfg, gt, lq)
        elif cfg.get("meta_info_file"):
            dataset = _from_meta_info_file(cfg)
        else:
            dataset = _from_folders(cfg, gt, lq)
    require_samples(dataset, f"{cfg.origin} ({gt.describe()})")
    return dataset


def _gt_size_fits_some(lq_shapes: list[tuple], scale: int, gt_size: int | None, where: str) -> None:
    """A ``gt_size`` larger than every image is said as such (pointing at gt_size), not as the first image to
    remove (the same check as on the ``faults`` branch, over distinct shapes)."""
    if gt_size is None or not lq_shapes:
        return
    patch = gt_size // scale
    if all(h < patch or w < patch for h, w, *_ in lq_shapes):
        largest = max(min(h, w) for h, w, *_ in lq_shapes)
        raise DalisrError(
            f"gt_size {gt_size} is too large for every image of {where}: its LQ patch would be {patch} px "
            f"(gt_size / scale {scale}) but no LQ image has both sides that long (the longest short side is "
            f"{largest} px). Fix: set gt_size to at most {largest * scale}")


def check_shapes(dataset: PairedDataset | Sequence[Sample], scale: int, gt_size: int | None, where: str) -> None:
    """Scale and size checks from meta info shapes, before any pipeline starts.

    Checked once per distinct (GT shape, LQ shape) pair, in sample order, so
    the first bad sample is the one named, as a check of every sample would.
    """
    if not isinstance(dataset, PairedDataset):  # Sample objects (other paired types)
        known = [s for s in dataset if s.shapes and s.shapes["gt"][0] is not None and s.shapes["lq"][0] is not None]
        _check_pairs([(s.shapes["gt"][0], s.shapes["lq"][0], s.keys["lq"][0]) for s in known], scale, gt_size, where)
        return
    if dataset._shapes is None:
        return
    (gt_kinds, gt_tails), (lq_kinds, lq_tails) = dataset._shapes["gt"], dataset._shapes["lq"]
    width = max(1, len(lq_tails))
    distinct, first = np.unique(gt_kinds.astype(np.int64) * width + lq_kinds, return_index=True)
    pairs = [(gt_tails[p // width][0], lq_tails[p % width][0], at)
             for p, at in sorted(zip(distinct.tolist(), first.tolist()), key=lambda x: x[1])]
    _check_pairs([(g, q, dataset.pair(at)[1]) for g, q, at in pairs if g is not None and q is not None], scale,
                 gt_size, where)


def _check_pairs(pairs: list[tuple[tuple, tuple, str]], scale: int, gt_size: int | None, where: str) -> None:
    """(GT shape, LQ shape, LQ key) in sample order: first the scale of every pair (a wrong ``scale`` is said as
    such), then whether ``gt_size`` fits some image, then each pair's patch size."""
    for g, q, key in pairs:
        check_scale((g[0], g[1]), (q[0], q[1]), key, where, scale)
    _gt_size_fits_some([q for _, q, _ in pairs], scale, gt_size, where)
    for g, q, key in pairs:
        check_pair_shapes((g[0], g[1]), (q[0], q[1]), key, where, scale, gt_size)


def build_paired(cfg: DatasetConfig) -> tuple[PairedDataset, dict[str, Store]]:
    stores = open_paired_stores(cfg)
    dataset = paired_dataset(cfg, stores)
    if cfg.phase == "train":
        check_shapes(dataset, cfg["scale"], cfg.get("gt_size"), f"{stores['lq'].describe()} meta_info.txt")
    return dataset, stores
