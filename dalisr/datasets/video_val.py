"""VideoTestDataset and VideoRecurrentTestDataset: the val sets of video SR (Vid4, REDS4, ...).

VideoTestDataset (EDVR-style): one sample per frame of every clip; LQ is
``num_frame`` frames around it, indices past the clip's ends chosen by
``padding`` (BasicSR's ``generate_frame_indices``); GT is that frame. Batch
keys ``lq`` (N x T x C x H x W), ``gt``, ``folder``, ``idx`` (``'i/n'``),
``border`` (1 within ``num_frame // 2`` of either end), ``lq_path`` (the
centre LQ frame).

VideoRecurrentTestDataset (BasicVSR-style): one sample per clip, every frame:
``lq`` and ``gt`` T x C x H x W, ``folder``. A DALI pipeline has a fixed
frame count, so shorter clips repeat their last frame up to the longest clip
and the loader cuts them back (:meth:`DatasetIndex.frame_count`); clips of
different lengths therefore need batch size 1 (BasicSR's val uses 1 too).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..errors import DalisrError
from ..storage import Store, open_store
from .base import DatasetIndex
from .video_clips import Clip, list_clips

log = logging.getLogger(__name__)

PADDINGS = ("replicate", "reflection", "reflection_circle", "circle")
DEFAULT_PADDING = "reflection"


def frame_indices(centre: int, count: int, num_frame: int, padding: str = DEFAULT_PADDING) -> list[int]:
    """The ``num_frame`` frame numbers around ``centre`` in a clip of ``count`` frames (BasicSR's rules).

    Outside the clip, ``replicate`` repeats the end frame, ``reflection``
    mirrors about it, ``reflection_circle`` takes the window's far side
    mirrored, ``circle`` its far side in order; e.g. centre 0 of 5:
    ``[0, 0, 0, 1, 2]``, ``[2, 1, 0, 1, 2]``, ``[4, 3, 0, 1, 2]``, ``[3, 4, 0, 1, 2]``.
    """
    if num_frame % 2 != 1:
        raise DalisrError(f"num_frame must be odd for VideoTestDataset (the centre frame is the GT), got {num_frame}")
    if padding not in PADDINGS:
        raise DalisrError(f"padding '{padding}' is not one of {', '.join(PADDINGS)}")
    last, half = count - 1, num_frame // 2
    out = []
    for i in range(centre - half, centre + half + 1):
        if i < 0:
            j = {"replicate": 0, "reflection": -i, "reflection_circle": centre + half - i,
                 "circle": num_frame + i}[padding]
        elif i > last:
            j = {"replicate": last, "reflection": 2 * last - i, "reflection_circle": (centre - half) - (i - last),
                 "circle": i - num_frame}[padding]
        else:
            j = i
        out.append(j)
    return out


class _ClipSet(DatasetIndex):
    """Clips with their frames' keys, and how to report a frame's path."""

    def __init__(self, clips: Sequence[Clip], lq_root: str | None) -> None:
        self.clips = list(clips)
        self.lq_root = lq_root  # None: the path is the key (LMDB)

    def lq_path(self, key: str) -> str:
        return key if self.lq_root is None else os.path.join(self.lq_root, key)


class VideoTestDataset(_ClipSet):
    """One sample per frame; stored as (clip, frame) int arrays."""

    sequences = frozenset({"lq"})

    def __init__(self, clips: Sequence[Clip], lq_root: str | None, num_frame: int, padding: str) -> None:
        super().__init__(clips, lq_root)
        self.roles = {"gt": 1, "lq": num_frame}
        self.num_frame = num_frame
        self.padding = padding
        counts = np.array([len(c) for c in self.clips], dtype=np.int64)
        self.sample_clip = np.repeat(np.arange(len(self.clips), dtype=np.int32), counts)
        self.sample_frame = (np.arange(int(counts.sum()), dtype=np.int64)
                             - np.repeat(np.cumsum(counts) - counts, counts)).astype(np.int32)
        for clip in self.clips:  # a clip shorter than the window would index outside it
            for centre in {*range(min(len(clip), num_frame)), *range(max(0, len(clip) - num_frame), len(clip))}:
                if not all(0 <= j < len(clip) for j in frame_indices(centre, len(clip), num_frame, padding)):
                    raise DalisrError(f"clip '{clip.folder}' has {len(clip)} frames, too few for num_frame "
                                      f"{num_frame} with padding {padding}. Fix: lower num_frame")

    def __len__(self) -> int:
        return len(self.sample_clip)

    def _at(self, index: int) -> tuple[Clip, int]:
        return self.clips[int(self.sample_clip[index])], int(self.sample_frame[index])

    def name(self, index: int) -> str:
        clip, frame = self._at(index)
        return f"{clip.folder}/{frame}"

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        clip, frame = self._at(index)
        picks = frame_indices(frame, len(clip), self.num_frame, self.padding)
        return {"gt": (clip.gt[frame],), "lq": tuple(clip.lq[j] for j in picks)}

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        half = self.num_frame // 2
        fields: dict[str, list] = {"folder": [], "idx": [], "border": [], "lq_path": []}
        for i in indices:
            clip, frame = self._at(int(i))
            fields["folder"].append(clip.folder)
            fields["idx"].append(f"{frame}/{len(clip)}")
            fields["border"].append(int(frame < half or frame >= len(clip) - half))
            fields["lq_path"].append(self.lq_path(clip.lq[frame]))
        return fields


class VideoRecurrentTestDataset(_ClipSet):
    """One sample per clip folder (sorted by name), every frame; short clips padded, then cut by the loader."""

    sequences = frozenset({"gt", "lq"})

    def __init__(self, clips: Sequence[Clip], lq_root: str | None) -> None:
        super().__init__(sorted(clips, key=lambda c: c.folder), lq_root)
        longest = max(len(c) for c in self.clips)
        self.roles = {"gt": longest, "lq": longest}

    def __len__(self) -> int:
        return len(self.clips)

    def name(self, index: int) -> str:
        return self.clips[index].folder

    def frame_count(self, index: int) -> int | None:
        n = len(self.clips[index])
        return None if n == self.roles["lq"] else n

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        clip = self.clips[index]
        pad = self.roles["lq"] - len(clip)
        return {"gt": clip.gt + clip.gt[-1:] * pad, "lq": clip.lq + clip.lq[-1:] * pad}

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        return {"folder": [self.clips[int(i)].folder for i in indices]}


def _stores(cfg: DatasetConfig) -> dict[str, Store]:
    if cfg.get("cache_data"):
        log.info("%s: cache_data is ignored: dalisr streams the frames (nothing to cache)", cfg.origin)
    backend = cfg.io_backend
    return {"gt": open_store(backend, cfg["dataroot_gt"], "dataroot_gt"),
            "lq": open_store(backend, cfg["dataroot_lq"], "dataroot_lq")}


def _lq_root(cfg: DatasetConfig, store: Store) -> str | None:
    return None if store.kind == "lmdb" else cfg["dataroot_lq"]


def build_video_test(cfg: DatasetConfig) -> tuple[VideoTestDataset, dict[str, Store]]:
    stores = _stores(cfg)
    num_frame = cfg["num_frame"]
    if num_frame % 2 != 1:
        raise DalisrError(f"{cfg.where('num_frame')} must be odd (the centre frame is the GT), got {num_frame}")
    padding = cfg.get("padding", DEFAULT_PADDING)
    dataset = VideoTestDataset(list_clips(cfg, stores), _lq_root(cfg, stores["lq"]), num_frame, padding)
    return dataset, stores


def build_video_recurrent_test(cfg: DatasetConfig) -> tuple[VideoRecurrentTestDataset, dict[str, Store]]:
    stores = _stores(cfg)
    dataset = VideoRecurrentTestDataset(list_clips(cfg, stores), _lq_root(cfg, stores["lq"]))
    lengths = {len(c) for c in dataset.clips}
    batch = cfg.get("batch_size_per_gpu", 1)
    if len(lengths) > 1 and batch != 1:
        raise DalisrError(f"{cfg.where('batch_size_per_gpu')} is {batch}, but the clips have different lengths "
                          f"({min(lengths)} to {max(lengths)} frames) and cannot share a batch. Fix: use 1")
    return dataset, stores
