"""DALI external-source callables: which sample, which epoch, which shard -> encoded bytes."""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from ..datasets.base import DatasetIndex, check_pair_shapes
from ..errors import DalisrError
from ..formats.codec import header_shape
from ..formats.png import png_intact
from ..processes import exit_with_parent
from ..sampling import EpochPlan, sample_draws
from ..storage import Store

log = logging.getLogger(__name__)

KEY_DRAW = 1  # stream id of the generator a dataset uses to pick frames
EXTRA_DRAW = 2  # stream id of the generator a dataset draws its extra outputs from
EXTRA_OUTPUTS = 4  # after the frames: sample index, skip record, crop fractions, flip bits (then the dataset's own)


def key_rng(seed: int, epoch: int, position: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, position, KEY_DRAW])


def extra_rng(seed: int, epoch: int, position: int) -> np.random.Generator:
    """The generator of a sample's :attr:`DatasetIndex.extra_outputs` (independent of its frame draws)."""
    return np.random.default_rng([seed, epoch, position, EXTRA_DRAW])


def check_sizes(gt: bytes, lq: bytes, key: str, where: str, scale: int, gt_size: int | None) -> None:
    """BasicSR's paired_random_crop checks (:func:`check_pair_shapes`) on PNG or JPEG 2000 headers, before decoding."""
    g, q = header_shape(gt), header_shape(lq)
    if g is None or q is None:
        return  # neither PNG nor JPEG 2000: the decoder will tell
    check_pair_shapes(g[:2], q[:2], key, where, scale, gt_size)


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


def intact(data: bytes) -> bool:
    """Cheap integrity check: PNG chunk CRCs, else a full OpenCV decode."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return png_intact(data)
    import cv2

    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) is not None
    except cv2.error:
        return False


class SampleSource:
    """Per-sample callable for ``fn.external_source(batch=False, parallel=True)``.

    It emits, for one sample: the encoded bytes of every frame of every role
    (in ``dataset.roles`` order), then the sample index, a skip record
    (``[first bad index or -1, replaced count, png-seek index mismatches]``), its crop fractions, its
    flip bits, then the dataset's own per-sample arrays
    (:attr:`DatasetIndex.extra_outputs`). With ``on_error="skip"`` a missing, corrupt or mis-sized
    sample is replaced by another of the same epoch instead of failing.
    The epoch ends (StopIteration) after the shard's last whole batch, so
    every shard yields the same number of batches. The first epoch
    of a pipeline may start ``skip_batches`` in, which is how resume works.
    ``stats`` (set by the profiler, else None) receives per-sample timings and byte counts.
    """

    #: True where the source emits decoded windows (HWC uint8 RGB) instead of encoded bytes
    emits_pixels = False

    def __init__(self, dataset: DatasetIndex, stores: dict[str, Store], plan: EpochPlan, *,
                 start_epoch: int = 0, skip_batches: int = 0, scale: int = 1, gt_size: int | None = None,
                 check_pairs: bool = True, on_error: str = "raise", max_replacements: int = 16) -> None:
        self.dataset = dataset
        self.stores = stores
        self.plan = plan
        self.start_epoch = start_epoch
        self.skip_batches = skip_batches
        self.scale = scale
        self.gt_size = gt_size
        self.check_pairs = check_pairs and "lq" in dataset.roles and "gt" in dataset.roles
        self.on_error = on_error
        self.max_replacements = max_replacements
        self._cached_epoch: int | None = None
        self._indices: np.ndarray | None = None
        self._parent_pid = os.getpid()  # the training process that builds the pipeline
        self._watched_pid: int | None = None
        self.stats = None
        #: png-seek values whose restart index did not fit their data (decoded from the top instead), this process
        self.seek_mismatches = 0

    @property
    def num_outputs(self) -> int:
        return sum(self.dataset.roles.values()) + EXTRA_OUTPUTS + len(self.dataset.extra_outputs)

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

    def _load(self, index: int, epoch: int, position: int, fractions: np.ndarray | None = None) -> tuple[list, dict]:
        """Encoded frames of sample ``index``, checked; DalisrError names the bad key and store.

        ``fractions`` (the sample's crop draws) are for subclasses that crop while reading.
        """
        keys = self.dataset.keys_for(index, key_rng(self.plan.seed, epoch, position))
        out = []
        read_s = 0.0
        for role, count in self.dataset.roles.items():
            role_keys = keys[role]
            if len(role_keys) != count:
                raise DalisrError(f"sample {index} has {len(role_keys)} {role} keys, expected {count}")
            store = self.stores[role]
            for k in role_keys:
                start = time.perf_counter()
                data = store.get(k)
                read_s += time.perf_counter() - start
                if not data:
                    raise DalisrError(f"key '{k}' in {store.describe()} is empty (0 bytes). Fix: re-create it")
                if self.on_error == "skip" and not intact(data):
                    raise DalisrError(f"key '{k}' in {store.describe()} is truncated or corrupt ({len(data)} bytes). "
                                      "Fix: re-create it from the source image (or re-copy the store)")
                out.append(np.frombuffer(data, dtype=np.uint8))
        if self.check_pairs:
            frames = split_roles(out, self.dataset.roles)
            for j, lq in enumerate(frames["lq"]):
                gt = frames["gt"][gt_partner(j, len(frames["gt"]))]
                check_sizes(gt, lq, keys["lq"][j], self.stores["lq"].describe(), self.scale, self.gt_size)
        if self.stats is not None:
            shapes = [header_shape(x) for x in out]
            self.stats.add(read_s=read_s, encoded_bytes=sum(len(x) for x in out),
                           decoded_bytes=sum(s[0] * s[1] * 3 for s in shapes if s is not None))
        return out, keys

    def read(self, epoch: int, batch: int, idx_in_batch: int, position: int) -> tuple:
        indices = self._epoch_indices(epoch)
        slot = batch * self.plan.batch_size + idx_in_batch
        index = int(indices[slot])
        bad = np.array([-1, 0, 0], dtype=np.int64)  # first bad sample index, number replaced, seek mismatches
        mismatches = self.seek_mismatches
        fractions, flips = sample_draws(self.plan.seed, epoch, position)
        for attempt in range(self.max_replacements + 1):
            try:
                frames, _ = self._load(index, epoch, position, fractions)
                break
            except DalisrError as exc:
                if self.on_error != "skip" or attempt == self.max_replacements:
                    raise
                log.warning("skipping sample %d: %s", index, exc)
                if bad[0] < 0:
                    bad[0] = index
                bad[1] += 1
                # a replacement from the same epoch, chosen deterministically
                index = int(indices[(slot + 1 + attempt) % len(indices)])
        bad[2] = self.seek_mismatches - mismatches
        extras = ()
        if self.dataset.extra_outputs:
            extras = self.dataset.extra_arrays(index, extra_rng(self.plan.seed, epoch, position))
        return (*frames, np.array([index], dtype=np.int64), bad, fractions, flips, *extras)

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
