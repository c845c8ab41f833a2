"""REDSRecurrentDataset's index: ``num_frame`` consecutive frames of a clip, GT and LQ alike (BasicVSR, IconVSR).

BasicSR's semantics: a sample is a (clip, frame) of ``meta_info_file`` after
the ``val_partition`` / ``test_mode`` split (shared with REDSDataset); per
draw, an interval from ``interval_list`` and a window that *starts* at the
sample's frame: ``start, start + i, ..., start + (num_frame - 1) * i``. If
``start > frames - num_frame * i`` the start is re-drawn uniformly in
``[0, frames - num_frame * i]`` (BasicSR's rule, with the clip's real frame
count where BasicSR hard-codes 100). ``random_reverse`` reverses the list
with p = 0.5. GT and LQ read the same frames, in the same order; the batch
``key`` is the sample's own ``clip/%08d`` (as BasicSR, even when re-drawn).
Per sample only two ints are stored.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..errors import DalisrError
from ..storage import Store, open_store
from .base import DatasetIndex, require_samples
from .reds import key_suffix, read_reds_meta, require_lmdb_keys, select_clips, val_clips


class REDSRecurrentDataset(DatasetIndex):
    """One sample per frame; ``keys_for`` draws interval, start and order; GT and LQ are ``num_frame`` frames."""

    sequences = frozenset({"gt", "lq"})

    def __init__(self, clips: Sequence[tuple[str, int]], num_frame: int, interval_list: Sequence[int],
                 random_reverse: bool, suffix: str) -> None:
        self.roles = {"gt": num_frame, "lq": num_frame}
        self.clips = [(str(c), int(n)) for c, n in clips]
        self.num_frame = int(num_frame)
        self.interval_list = [int(i) for i in interval_list]
        self.random_reverse = bool(random_reverse)
        self.suffix = suffix
        counts = np.array([n for _, n in self.clips], dtype=np.int64)
        self.sample_clip = np.repeat(np.arange(len(self.clips), dtype=np.int32), counts)
        self.sample_frame = (np.arange(int(counts.sum()), dtype=np.int64)
                             - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.int32)

    def __len__(self) -> int:
        return len(self.sample_clip)

    def name(self, index: int) -> str:
        clip, _ = self.clips[int(self.sample_clip[index])]
        return f"{clip}/{int(self.sample_frame[index]):08d}"

    def frames(self, index: int, rng: np.random.Generator) -> tuple[str, list[int]]:
        """(clip, frame numbers in output order) of sample ``index`` under ``rng``."""
        clip, count = self.clips[int(self.sample_clip[index])]
        start = int(self.sample_frame[index])
        interval = self.interval_list[int(rng.integers(len(self.interval_list)))]
        last_start = count - self.num_frame * interval
        if start > last_start:
            start = int(rng.integers(0, last_start + 1))
        neighbours = list(range(start, start + self.num_frame * interval, interval))
        if self.random_reverse and rng.random() < 0.5:
            neighbours.reverse()
        return clip, neighbours

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        clip, neighbours = self.frames(index, rng)
        keys = tuple(f"{clip}/{n:08d}{self.suffix}" for n in neighbours)
        return {"gt": keys, "lq": keys}

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        """``key``: the sample's ``clip/%08d``, as BasicSR reports it."""
        return {"key": [self.name(int(i)) for i in indices]}


def build_reds_recurrent(cfg: DatasetConfig) -> tuple[REDSRecurrentDataset, dict[str, Store]]:
    if cfg.get("dataroot_flow") is not None:
        raise DalisrError(f"{cfg.where('dataroot_flow')} is set: optical flow is not supported by dalisr. "
                          "Fix: set dataroot_flow: ~")
    num_frame = cfg["num_frame"]
    intervals = cfg.get("interval_list", [1])
    if not intervals or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 1 for i in intervals):
        raise DalisrError(f"{cfg.where('interval_list')} must be a list of positive integers, got {intervals!r}")
    meta = cfg["meta_info_file"]
    clips = select_clips(cfg, read_reds_meta(meta), val_clips(cfg))
    for clip, count in clips:
        span = num_frame * max(intervals)
        if count < span:
            raise DalisrError(f"clip '{clip}' in {meta} has {count} frames, fewer than the {span} that num_frame "
                              f"{num_frame} at interval {max(intervals)} needs (BasicSR's num_frame * interval). "
                              "Fix: lower num_frame or interval_list, or leave the clip out of meta_info_file")
    backend = cfg.io_backend
    stores = {"gt": open_store(backend, cfg["dataroot_gt"], "dataroot_gt"),
              "lq": open_store(backend, cfg["dataroot_lq"], "dataroot_lq")}
    dataset = REDSRecurrentDataset(clips, num_frame, intervals, bool(cfg.get("random_reverse", False)),
                                   key_suffix(stores["gt"]))
    require_samples(range(len(dataset)), f"{meta} (after the val_partition / test_mode split)")
    every_frame = [f"{clip}/{f:08d}" for clip, n in clips for f in range(n)]
    for role in ("gt", "lq"):
        require_lmdb_keys(stores[role], every_frame, os.path.basename(meta))
    return dataset, stores
