"""REDSDataset's index: every frame of every training clip, a window of neighbours drawn per sample.

BasicSR's semantics: a sample is a (clip, frame) of ``meta_info_file`` minus
the validation clips of ``val_partition``; per draw, an interval from
``interval_list`` and, if the window ``centre -+ (num_frame // 2) * interval``
leaves the clip, a new centre drawn uniformly among those where it fits (the
same distribution as BasicSR's re-draw loop, without the loop, and with the
clip's real frame count instead of BasicSR's fixed 100). ``random_reverse``
reverses the LQ neighbour order with p = 0.5. GT is the centre frame.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..errors import DalisrError
from ..storage import Store, open_store
from .base import DatasetIndex, Sample, require_samples
from .shared import SharedArrays

VAL_PARTITIONS: dict[str, tuple[str, ...]] = {
    "REDS4": ("000", "011", "015", "020"),
    "official": tuple(f"{v:03d}" for v in range(240, 270)),
}
DEFAULT_VAL_PARTITION = "REDS4"


def key_suffix(store: Store) -> str:
    """LMDB keys have no extension; file stores (disk, memcached over disk) read ``.png`` files."""
    return "" if store.kind == "lmdb" else ".png"


def require_lmdb_keys(store: Store, keys: Iterable[str], source: str, limit: int = 5) -> None:
    """Every key the index will read must be in the LMDB's meta info: say which are not, up front."""
    if store.kind != "lmdb":
        return
    held = set(store.meta_table().keys())  # an LMDB's meta info: no need to sort the keys first
    missing = [k for k in keys if k not in held]
    if missing:
        raise DalisrError(
            f"{len(missing)} key(s) from {source} are not in {store.describe()} (first: "
            f"{', '.join(missing[:limit])}). Fix: make the LMDB from the same frames, or correct meta_info_file"
        )


def read_reds_meta(path: str) -> list[tuple[str, int]]:
    """``(clip, frames)`` per line of ``clip frames (h,w,c)``, in file order."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except FileNotFoundError:
        raise DalisrError(f"meta_info_file {path} does not exist. Fix: point meta_info_file at the REDS "
                          "meta info (lines like '000 100 (720,1280,3)')") from None
    clips = []
    for lineno, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) < 2 or not tokens[1].isdigit() or int(tokens[1]) < 1:
            raise DalisrError(f"{path}:{lineno}: expected 'clip frames (h,w,c)' (e.g. '000 100 (720,1280,3)'), "
                              f"got: {line.strip()}")
        clips.append((tokens[0], int(tokens[1])))
    return clips


class REDSDataset(DatasetIndex):
    """One sample per training frame; ``keys_for`` draws interval, centre and order per sample."""

    #: LQ is a frame stack, T x C x H x W even for num_frame 1 (as BasicSR's torch.stack gives it)
    sequences = frozenset({"lq"})

    def __init__(self, clips: Sequence[tuple[str, int]], num_frame: int, interval_list: Sequence[int],
                 random_reverse: bool, suffix: str) -> None:
        self.roles = {"gt": 1, "lq": num_frame}
        self.clips = [(str(c), int(n)) for c, n in clips]
        self.num_half = num_frame // 2
        self.interval_list = [int(i) for i in interval_list]
        self.random_reverse = bool(random_reverse)
        self.suffix = suffix
        # per sample, its clip (index into clips) and frame: two arrays, shared with DALI's workers
        frames = np.array([n for _, n in self.clips], dtype=np.int64)
        starts = np.repeat(np.cumsum(frames) - frames, frames)
        self.arrays = SharedArrays({"clip": np.repeat(np.arange(len(frames), dtype=np.int32), frames),
                                    "frame": (np.arange(int(frames.sum()), dtype=np.int64) - starts).astype(np.int32)})

    @property
    def sample_clip(self) -> np.ndarray:
        return self.arrays["clip"]

    @property
    def sample_frame(self) -> np.ndarray:
        return self.arrays["frame"]

    def __len__(self) -> int:
        return len(self.arrays["clip"])

    def name(self, index: int) -> str:
        return f"{self.clips[int(self.sample_clip[index])][0]}/{int(self.sample_frame[index]):08d}"

    def fingerprint(self) -> str:
        return f"{type(self).__name__}:{self.roles['lq']}:{self.clips!r}"

    @property
    def samples(self) -> list[Sample]:
        """Every sample as an object (slow for big indexes: for tests and small tools, not the pipeline)."""
        return [Sample(keys={}, paths={}, name=self.name(i)) for i in range(len(self))]

    def draw(self, index: int, rng: np.random.Generator) -> tuple[str, int, list[int]]:
        """(clip, centre frame, LQ frame numbers in output order) of sample ``index`` under ``rng``."""
        clip, frames = self.clips[int(self.sample_clip[index])]
        centre = int(self.sample_frame[index])
        interval = self.interval_list[int(rng.integers(len(self.interval_list)))]
        half = self.num_half * interval
        if centre - half < 0 or centre + half > frames - 1:
            centre = int(rng.integers(half, frames - half))  # uniform over the centres whose window fits
        neighbours = list(range(centre - half, centre + half + 1, interval))
        if self.random_reverse and rng.random() < 0.5:
            neighbours.reverse()
        return clip, centre, neighbours

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        clip, centre, neighbours = self.draw(index, rng)
        s = self.suffix
        return {"gt": (f"{clip}/{centre:08d}{s}",), "lq": tuple(f"{clip}/{n:08d}{s}" for n in neighbours)}

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        """``key``: ``clip/%08d`` of the centre frame each sample actually used."""
        keys = []
        for j, index in enumerate(indices):
            clip, centre, _ = self.draw(int(index), draw(j))
            keys.append(f"{clip}/{centre:08d}")
        return {"key": keys}


def _options(cfg: DatasetConfig) -> tuple[int, list[int], tuple[str, ...]]:
    if cfg.get("dataroot_flow") is not None:
        raise DalisrError(f"{cfg.where('dataroot_flow')} is set: optical flow is not supported by dalisr. "
                          "Fix: set dataroot_flow: ~ (EDVR/BasicVSR-style training without flow)")
    num_frame = cfg["num_frame"]
    if num_frame % 2 != 1:
        raise DalisrError(f"{cfg.where('num_frame')} must be an odd number (the centre frame is the GT), "
                          f"got {num_frame}")
    intervals = cfg.get("interval_list", [1])
    if not intervals or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 1 for i in intervals):
        raise DalisrError(f"{cfg.where('interval_list')} must be a list of positive integers, got {intervals!r}")
    return num_frame, list(intervals), val_clips(cfg)


def val_clips(cfg: DatasetConfig) -> tuple[str, ...]:
    """The clips of ``val_partition`` (REDS4 by default)."""
    partition = cfg.get("val_partition", DEFAULT_VAL_PARTITION)
    if partition not in VAL_PARTITIONS:
        raise DalisrError(f"{cfg.where('val_partition')} is '{partition}'. Fix: use one of "
                          f"{', '.join(VAL_PARTITIONS)}")
    return VAL_PARTITIONS[partition]


def select_clips(cfg: DatasetConfig, clips: list[tuple[str, int]], held_out: tuple[str, ...]) -> list[tuple[str, int]]:
    """BasicSR's split: training drops the ``val_partition`` clips; ``test_mode: true`` keeps only them."""
    if cfg.get("test_mode", False):
        return [(c, n) for c, n in clips if c in held_out]
    return [(c, n) for c, n in clips if c not in held_out]


def _check_clip_lengths(clips: list[tuple[str, int]], num_frame: int, intervals: list[int], where: str) -> None:
    """Every interval's window must fit in every clip somewhere; BasicSR would loop forever otherwise."""
    for clip, frames in clips:
        for interval in intervals:
            span = (num_frame // 2) * interval * 2 + 1
            if frames < span:
                raise DalisrError(
                    f"clip '{clip}' in {where} has {frames} frames, fewer than the {span} that num_frame "
                    f"{num_frame} at interval {interval} spans. Fix: lower num_frame or interval_list, or "
                    "leave the clip out of meta_info_file"
                )


def build_reds(cfg: DatasetConfig) -> tuple[REDSDataset, dict[str, Store]]:
    num_frame, intervals, held_out = _options(cfg)
    meta = cfg["meta_info_file"]
    clips = select_clips(cfg, read_reds_meta(meta), held_out)
    backend = cfg.io_backend
    stores = {"gt": open_store(backend, cfg["dataroot_gt"], "dataroot_gt"),
              "lq": open_store(backend, cfg["dataroot_lq"], "dataroot_lq")}
    dataset = REDSDataset(clips, num_frame, intervals, bool(cfg.get("random_reverse", False)),
                          key_suffix(stores["gt"]))
    require_samples(dataset, f"{meta} (after the val_partition / test_mode split)")
    _check_clip_lengths(clips, num_frame, intervals, meta)
    every_frame = [f"{clip}/{f:08d}" for clip, n in clips for f in range(n)]
    for role in ("gt", "lq"):
        require_lmdb_keys(stores[role], every_frame, os.path.basename(meta))
    return dataset, stores
