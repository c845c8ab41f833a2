"""The DALI external-source callable: which sample, which epoch, which shard -> that sample's outputs.

:class:`SampleSource` runs the epoch plan, replaces unreadable samples under
``on_error: skip`` and emits the fields :mod:`dalisr.contract` declares; how a
sample's frames are read (whole encoded values, or windows cut while reading)
is its :class:`FrameReader`'s job.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..contract import Contract, SkipRecord
from ..datasets.base import DatasetIndex
from ..errors import DalisrError
from ..processes import exit_with_parent
from ..sampling import EpochPlan, sample_draws
from ..storage import Store
from .stats import SourceStats

log = logging.getLogger(__name__)

KEY_DRAW = 1  # stream id of the generator a dataset uses to pick frames
EXTRA_DRAW = 2  # stream id of the generator a dataset draws its extra outputs from


def key_rng(seed: int, epoch: int, position: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, position, KEY_DRAW])


def extra_rng(seed: int, epoch: int, position: int) -> np.random.Generator:
    """The generator of a sample's :attr:`DatasetIndex.extra_outputs` (independent of its frame draws)."""
    return np.random.default_rng([seed, epoch, position, EXTRA_DRAW])


def split_roles(values: list, roles: dict[str, int]) -> dict[str, list]:
    """A sample's values (every frame of every role, in ``roles`` order) grouped by role."""
    out, at = {}, 0
    for role, count in roles.items():
        out[role] = values[at:at + count]
        at += count
    return out


def gt_partner(lq_frame: int, num_gt: int) -> int:
    """The GT frame an LQ frame is checked against: the one GT (EDVR-style), else the GT of the same t."""
    return 0 if num_gt == 1 else lq_frame


@dataclass
class Frames:
    """One sample's frames (every role, in ``roles`` order), the png-seek values that missed their index, and
    the per-sample arrays the reader made from the values (the first ones of the dataset's ``extra_outputs``)."""

    arrays: list[np.ndarray]
    seek_mismatches: int = 0
    extras: tuple[np.ndarray, ...] = ()


class FrameReader(Protocol):
    """How a source reads a sample's frames from its stores (:mod:`.encoded`, :mod:`.windows`, :mod:`.crop_pad`)."""

    #: True where frames are decoded windows (HWC uint8 RGB), False where they are encoded bytes
    emits_pixels: bool
    #: ``png`` (encoded values), ``raw``: what the reader reads
    codec: str

    def load(self, keys: dict[str, tuple[str, ...]], fractions: np.ndarray, flips: np.ndarray) -> Frames:
        """The frames of one sample's ``keys``; ``fractions`` and ``flips`` are its crop and flip draws.
        DalisrError names the bad key and store."""


@dataclass
class SampleSource:
    """Per-sample callable for ``fn.external_source(batch=False, parallel=True)``.

    It emits :meth:`dalisr.contract.Contract.source_fields` for one sample.
    With ``on_error="skip"`` a missing, corrupt or mis-sized sample is
    replaced by another of the same epoch instead of failing. The epoch ends
    (StopIteration) after the shard's last whole batch, so every shard yields
    the same number of batches. The first epoch of a pipeline may start
    ``skip_batches`` in, which is how resume works. ``stats`` (the profiler's,
    else None) receives per-sample timings and byte counts.
    """

    dataset: DatasetIndex
    stores: dict[str, Store]
    plan: EpochPlan
    reader: FrameReader
    start_epoch: int = 0
    skip_batches: int = 0
    on_error: str = "raise"
    max_replacements: int = 16
    stats: SourceStats | None = None
    _parent_pid: int = field(default_factory=os.getpid, repr=False)  # the training process that builds it
    _watched_pid: int | None = field(default=None, repr=False)
    _cached_epoch: int | None = field(default=None, repr=False)
    _indices: np.ndarray | None = field(default=None, repr=False)
    contract: Contract = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.contract = Contract.of(self.dataset)

    @property
    def emits_pixels(self) -> bool:
        return self.reader.emits_pixels

    def _epoch_indices(self, epoch: int) -> np.ndarray:
        if self._cached_epoch != epoch:
            self._indices = self.plan.shard_indices(epoch)
            self._cached_epoch = epoch
        return self._indices

    def locate(self, epoch_idx: int, iteration: int, idx_in_batch: int) -> tuple[int, int, int] | None:
        """(epoch, batch, position) of a DALI sample request, or None past the epoch's end."""
        epoch = self.start_epoch + epoch_idx
        batch = iteration + (self.skip_batches if epoch_idx == 0 else 0)
        if batch >= self.plan.num_batches:
            return None
        return epoch, batch, self.plan.position(batch, idx_in_batch)

    def sample_keys(self, index: int, epoch: int, position: int) -> dict[str, tuple[str, ...]]:
        """The store keys of sample ``index``, as many per role as the dataset's ``roles`` say."""
        keys = self.dataset.keys_for(index, key_rng(self.plan.seed, epoch, position))
        for role, count in self.dataset.roles.items():
            if len(keys[role]) != count:
                raise DalisrError(f"sample {index} has {len(keys[role])} {role} keys, expected {count}")
        return keys

    def read(self, epoch: int, batch: int, idx_in_batch: int, position: int) -> tuple:
        indices = self._epoch_indices(epoch)
        slot = batch * self.plan.batch_size + idx_in_batch
        index = int(indices[slot])
        first_bad, replaced = -1, 0
        fractions, flips = sample_draws(self.plan.seed, epoch, position)
        flips = self.dataset.flip_bits(flips)
        for attempt in range(self.max_replacements + 1):
            try:
                frames = self.reader.load(self.sample_keys(index, epoch, position), fractions, flips)
                break
            except DalisrError as exc:
                if self.on_error != "skip" or attempt == self.max_replacements:
                    raise
                log.warning("skipping sample %d: %s", index, exc)
                first_bad = index if first_bad < 0 else first_bad
                replaced += 1
                # a replacement from the same epoch, chosen deterministically
                index = int(indices[(slot + 1 + attempt) % len(indices)])
        extras = frames.extras
        if len(extras) < len(self.dataset.extra_outputs):
            extras = (*extras, *self.dataset.extra_arrays(index, extra_rng(self.plan.seed, epoch, position)))
        skipped = SkipRecord(first_bad, replaced, frames.seek_mismatches)
        sample = {"idx": np.array([index], dtype=np.int64), "skipped": skipped.array(), "fractions": fractions,
                  "flips": flips}
        return self.contract.pack(frames.arrays, sample, extras)

    def __call__(self, info) -> tuple:
        if self._watched_pid != os.getpid():  # first call in this process
            self._watched_pid = os.getpid()
            if self._watched_pid != self._parent_pid:  # a DALI worker: never outlive the trainer
                exit_with_parent(self._parent_pid)
        where = self.locate(info.epoch_idx, info.iteration, info.idx_in_batch)
        if where is None:
            raise StopIteration
        epoch, batch, position = where
        if self.stats is None:
            return self.read(epoch, batch, info.idx_in_batch, position)
        start = time.perf_counter()
        out = self.read(epoch, batch, info.idx_in_batch, position)
        self.stats.add(samples=1, source_s=time.perf_counter() - start)
        return out
