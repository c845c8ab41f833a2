"""traiNNer-redux's dataset types: which files form a sample, by its rules (its ``traiNNer/data/*_dataset.py``).

Every ``dataroot_*`` is a list of folders (:mod:`dalisr.trainner_config`),
each scanned recursively for its files (hidden ones skipped). Paired data:
the i-th GT folder goes with the i-th LQ folder, files paired by their stem
(the path below the folder without its last extension), whatever their
extensions (a PNG GT, a WebP or JPEG LQ), samples in the order of the GT
stems; a file without a partner is an error naming it (with a
``filename_tmpl`` other than ``{}``, GT files without an LQ are left out, as
it does). GT-only data (``realesrgandataset``, ``singlegtdataset``): every
file of every folder, sorted per folder. Keys on disk and in memcached are
the files' paths; LMDB folders (each with its ``meta_info.txt``) pair by key
(paths: the folder joined to the key),
which traiNNer-redux's own loader intends but cannot do (its LMDB and
``meta_info`` paths are broken), and ``meta_info`` lists the names under every folder.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..errors import DalisrError
from ..formats.meta_info import read_first_tokens
from ..storage import LmdbStore, Store, open_store
from ..storage.multi import MultiStore, multi_key
from .base import check_same_keys, require_samples
from .paired import PairedDataset, lq_key_of, make_sample
from .single_image import SingleImageDataset

log = logging.getLogger(__name__)
MISSING_SHOWN = 10  # traiNNer-redux lists the first ten files without a partner


def scan_tree(folder: str, option: str) -> list[str]:
    """Every file below ``folder``, as paths relative to it, sorted; hidden files and folders are skipped."""
    if not os.path.isdir(folder):
        raise DalisrError(f"{option} '{folder}' is not a folder. Fix: point {option} at the image folder (or list "
                          "the folders); for .lmdb folders set io_backend.type: lmdb")
    found = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        rel = os.path.relpath(top, folder)
        found += [name if rel == "." else os.path.join(rel, name) for name in files if not name.startswith(".")]
    return sorted(found)


def by_stem(names: list[str], folder: str) -> dict[str, str]:
    """stem -> file name; two files of one stem (``a.png`` and ``a.jpg``) are an error naming both."""
    out: dict[str, str] = {}
    for name in names:
        stem = os.path.splitext(name)[0]
        if stem in out:
            raise DalisrError(f"{folder} holds {out[stem]} and {name}: one stem, two files, so the pair is "
                              "ambiguous (traiNNer-redux would keep either, as the file system lists them). "
                              "Fix: keep one of them")
        out[stem] = name
    return out


def pair_names(gt_names: list[str], lq_names: list[str], tmpl: str, gt_folder: str, lq_folder: str
               ) -> list[tuple[str, str]]:
    """(GT name, LQ name) pairs of one folder pair, in the order of the GT stems."""
    gt, lq = by_stem(gt_names, gt_folder), by_stem(lq_names, lq_folder)
    if tmpl == "{}":
        for missing, role, folder in ((sorted(set(lq) - set(gt)), "gt", gt_folder),
                                      (sorted(set(gt) - set(lq)), "lq", lq_folder)):
            if missing:
                raise DalisrError(f"{len(missing)} files are missing from {role} ({folder}), which the other "
                                  f"folder has: {', '.join(missing[:MISSING_SHOWN])}. Fix: add their partners or "
                                  "remove them (GT and LQ files pair by name, whatever the extension)")
        return [(gt[s], lq[s]) for s in sorted(gt)]
    pairs = []
    for stem in sorted(gt):
        partner = os.path.join(os.path.dirname(stem), tmpl.format(os.path.basename(stem)))
        if partner in lq:
            pairs.append((gt[stem], lq[partner]))
    if len(pairs) < len(gt):
        log.info("%s: %d GT files have no LQ file by filename_tmpl '%s' and are left out, as traiNNer-redux "
                 "leaves them out", gt_folder, len(gt) - len(pairs), tmpl)
    return pairs


def _lmdb_stores(cfg: DatasetConfig, option: str) -> list[LmdbStore]:
    out = []
    for root in cfg[option]:
        if not root.rstrip("/").endswith(".lmdb"):
            raise DalisrError(f"'{option}' in {cfg.origin} lists '{root}' but io_backend.type is lmdb, which needs "
                              "folders ending in .lmdb. Fix: point it at the .lmdb folders or set io_backend.type: "
                              "disk")
        out.append(LmdbStore(root, option))
    return out


def role_store(cfg: DatasetConfig, option: str) -> Store:
    """The store of a ``dataroot_*`` list: files and memcached by path (an empty root), LMDBs as one."""
    backend = cfg.io_backend
    if backend.get("type", "disk") == "lmdb":
        stores = _lmdb_stores(cfg, option)
        return stores[0] if len(stores) == 1 else MultiStore(stores)
    return open_store(backend, "", option)


def _listed(cfg: DatasetConfig) -> list[str]:
    return read_first_tokens(cfg["meta_info"], cfg.where("meta_info") + ": file",
                             "point meta_info at a file of image names, one per line")


def folder_names(cfg: DatasetConfig, option: str) -> list[list[str]]:
    """Per folder of ``option``, its names: ``meta_info``'s names (under every folder), else its files."""
    if cfg.get("meta_info"):
        return [_listed(cfg)] * len(cfg[option])
    if cfg.io_backend.get("type", "disk") == "memcached":
        raise DalisrError(f"{cfg.origin}: memcached cannot list its keys. Fix: set meta_info (a file of the image "
                          "names under each folder), or read the folders from disk")
    return [scan_tree(folder, option) for folder in cfg[option]]


def _lmdb_keys(store: Store) -> list[list[str]]:
    parts = store.stores if isinstance(store, MultiStore) else [store]
    return [part.meta_table().keys() for part in parts]


def _keyed(store: Store, index: int, key: str) -> str:
    return multi_key(index, key) if isinstance(store, MultiStore) else key


def build_paired(cfg: DatasetConfig) -> tuple[PairedDataset, dict[str, Store]]:
    """``pairedimagedataset``: GT and LQ folder pairs, files paired by stem (LMDBs: by key)."""
    stores = {"gt": role_store(cfg, "dataroot_gt"), "lq": role_store(cfg, "dataroot_lq")}
    folder_pairs = list(zip(cfg["dataroot_gt"], cfg["dataroot_lq"]))  # extra folders are ignored, as it does
    samples = []
    if cfg.io_backend.get("type", "disk") == "lmdb":
        gt_keys, lq_keys = _lmdb_keys(stores["gt"]), _lmdb_keys(stores["lq"])
        for i, (gt_root, lq_root) in enumerate(folder_pairs):
            check_same_keys(gt_keys[i], lq_keys[i], f"{gt_root}/meta_info.txt", f"{lq_root}/meta_info.txt")
            for key in sorted(gt_keys[i]):  # paths: the LMDB's folder joined to the key (a key is not unique)
                gk, lk = _keyed(stores["gt"], i, key), _keyed(stores["lq"], i, key)
                samples.append(make_sample(gk, lk, os.path.join(gt_root, key), os.path.join(lq_root, key)))
    else:
        gt_lists, lq_lists = folder_names(cfg, "dataroot_gt"), folder_names(cfg, "dataroot_lq")
        tmpl = cfg.get("filename_tmpl", "{}")
        for (gt_root, lq_root), gt_names, lq_names in zip(folder_pairs, gt_lists, lq_lists):
            pairs = ([(n, lq_key_of(n, tmpl)) for n in gt_names] if cfg.get("meta_info") else
                     pair_names(gt_names, lq_names, tmpl, gt_root, lq_root))
            for g, q in pairs:
                gk, lk = os.path.join(gt_root, g), os.path.join(lq_root, q)
                samples.append(make_sample(gk, lk, gk, lk))
    require_samples(samples, f"{cfg.origin} ({stores['gt'].describe()})")
    return PairedDataset(samples), stores


def gt_only_keys(cfg: DatasetConfig, option: str, store: Store) -> list[str]:
    """A GT-only (or LQ-only) type's keys: per folder its sorted files (or ``meta_info``'s names), folder after
    folder; LMDBs: each one's meta info keys."""
    if cfg.io_backend.get("type", "disk") == "lmdb":
        return [_keyed(store, i, k) for i, keys in enumerate(_lmdb_keys(store)) for k in keys]
    return [os.path.join(root, name) for root, names in zip(cfg[option], folder_names(cfg, option))
            for name in names]


class SingleLQDataset(SingleImageDataset):
    """``singleimagedataset`` / ``singlelqdataset``: whole LQ images; ``lq_path`` is the key (a path or an LMDB key)."""

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        return {"lq_path": [self.keys[int(i)] for i in indices]}


def build_single_lq(cfg: DatasetConfig) -> tuple[SingleLQDataset, dict[str, Store]]:
    store = role_store(cfg, "dataroot_lq")
    keys = gt_only_keys(cfg, "dataroot_lq", store)
    if cfg.get("meta_info") and cfg.io_backend.get("type", "disk") != "lmdb":
        # its meta_info rule goes line by line, each name under every folder in turn
        names = _listed(cfg)
        keys = [os.path.join(root, name) for name in names for root in cfg["dataroot_lq"]]
    dataset = SingleLQDataset(keys, None)
    require_samples(range(len(dataset)), f"{cfg.origin} ({store.describe()})")
    return dataset, {"lq": store}
