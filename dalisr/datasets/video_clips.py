"""Video val sets as clips: which frames each clip folder holds, GT and LQ side by side.

BasicSR's VideoTestDataset layout: ``dataroot/clip/frame`` (Vid4, REDS4,
REDSofficial), clips from ``meta_info_file`` (first token per line) or every
subfolder, frames sorted by name. dalisr also reads the same clips from
BasicSR LMDBs (keys ``clip/frame``, as ``create-lmdb --dataset reds`` makes
them), which BasicSR refuses for val sets; memcached reads the disk layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..config import DatasetConfig
from ..errors import DalisrError
from ..storage import Store
from ..storage.disk import IMAGE_EXTENSIONS


@dataclass(frozen=True)
class Clip:
    """One clip: its folder name and its frames' store keys (GT and LQ, same count, frame order)."""

    folder: str
    gt: tuple[str, ...]
    lq: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.lq)


def _folder_frames(root: str, folder: str, option: str) -> list[str]:
    path = os.path.join(root, folder)
    if not os.path.isdir(path):
        raise DalisrError(f"clip folder {path} does not exist. Fix: check {option} and meta_info_file")
    with os.scandir(path) as it:
        names = sorted(e.name for e in it if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS))
    return [f"{folder}/{n}" for n in names]


def _subfolders(root: str, option: str) -> list[str]:
    if not os.path.isdir(root):
        raise DalisrError(f"{option} '{root}' is not a folder of clip folders. Fix: point it at e.g. datasets/Vid4/GT")
    with os.scandir(root) as it:
        return sorted(e.name for e in it if e.is_dir())


def _lmdb_frames(store: Store) -> dict[str, list[str]]:
    """LMDB keys grouped by clip (``clip/frame`` -> ``clip``), each clip's frames sorted."""
    clips: dict[str, list[str]] = {}
    for key in store.keys():
        folder, sep, _ = key.rpartition("/")
        if not sep:
            raise DalisrError(f"key '{key}' in {store.describe()} has no clip part. Fix: video val LMDBs need keys "
                              "'clip/frame' (dalisr create-lmdb --dataset reds)")
        clips.setdefault(folder, []).append(key)
    return {c: sorted(ks) for c, ks in clips.items()}


def _meta_folders(cfg: DatasetConfig) -> list[str] | None:
    path = cfg.get("meta_info_file")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return [line.split()[0] for line in f if line.strip()]
    except FileNotFoundError:
        raise DalisrError(f"{cfg.where('meta_info_file')}: {path} does not exist. Fix: point it at a list of clip "
                          "folders (first token per line) or remove it to read every clip folder") from None


def list_clips(cfg: DatasetConfig, stores: dict[str, Store]) -> list[Clip]:
    """The clips of a video val set in BasicSR's order, with GT and LQ frame counts checked."""
    wanted = _meta_folders(cfg)
    if stores["lq"].kind == "lmdb":
        frames = {role: _lmdb_frames(stores[role]) for role in ("gt", "lq")}
        folders = wanted if wanted is not None else sorted(frames["lq"])

        def keys(role: str, folder: str) -> list[str]:
            return frames[role].get(folder, [])
    else:
        roots = {"gt": cfg["dataroot_gt"], "lq": cfg["dataroot_lq"]}
        folders = wanted if wanted is not None else _subfolders(roots["lq"], "dataroot_lq")

        def keys(role: str, folder: str) -> list[str]:
            return _folder_frames(roots[role], folder, f"dataroot_{role}")
    clips = []
    for folder in folders:
        gt, lq = keys("gt", folder), keys("lq", folder)
        if not lq or len(gt) != len(lq):
            raise DalisrError(f"clip '{folder}': different number of images in lq ({len(lq)}) and gt ({len(gt)}) "
                              f"({stores['lq'].describe()}, {stores['gt'].describe()}). Fix: give both the same "
                              "frames")
        clips.append(Clip(folder, tuple(gt), tuple(lq)))
    if not clips:
        raise DalisrError(f"no clips found in {stores['lq'].describe()} ({cfg.origin}). Fix: check dataroot_lq "
                          "and meta_info_file")
    return clips


def frame_path(cfg: DatasetConfig, store: Store, role: str, key: str) -> str:
    """What BasicSR reports as a frame's path: the file under ``dataroot_*`` (for LMDB the key)."""
    return key if store.kind == "lmdb" else os.path.join(cfg[f"dataroot_{role}"], key)
