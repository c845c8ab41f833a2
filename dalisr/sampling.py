"""Which samples each shard reads in each epoch, and their random crop/flip draws.

Everything here is a pure function of (seed, epoch, position), so DALI's
parallel workers, a restarted process and every rank of a DDP job agree on
it without talking to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .contract import GTWindow
from .errors import DalisrError

LAST_BATCH_POLICIES = ("drop", "pad")


@dataclass(frozen=True)
class EpochPlan:
    """The global permutation of an epoch, split into equal shards and whole batches.

    ``drop`` (BasicSR's sampler) cuts the permutation to a multiple of
    ``num_shards`` and drops each shard's last partial batch; ``pad`` wraps
    around the permutation so every sample is seen and batches are full.
    Either way, every shard has the same number of batches, so no DDP rank
    waits for another.
    """

    num_samples: int
    batch_size: int
    seed: int = 0
    shard_id: int = 0
    num_shards: int = 1
    shuffle: bool = True
    enlarge_ratio: int = 1
    last_batch: str = "drop"

    def __post_init__(self) -> None:
        if self.last_batch not in LAST_BATCH_POLICIES:
            raise DalisrError(f"last_batch '{self.last_batch}' is not one of {', '.join(LAST_BATCH_POLICIES)}")
        if not 0 <= self.shard_id < self.num_shards:
            raise DalisrError(f"shard_id {self.shard_id} is outside 0..{self.num_shards - 1} (num_shards)")
        if self.num_batches == 0:
            raise DalisrError(
                f"{self.num_samples} samples (x{self.enlarge_ratio}) over {self.num_shards} shard(s) make no "
                f"full batch of {self.batch_size}. Fix: lower batch_size_per_gpu, raise dataset_enlarge_ratio "
                "or set last_batch: pad"
            )

    @property
    def epoch_length(self) -> int:
        """Samples in one epoch over all shards, before sharding (BasicSR's enlarged length)."""
        return self.num_samples * self.enlarge_ratio

    @property
    def per_shard(self) -> int:
        n, s = self.epoch_length, self.num_shards
        return n // s if self.last_batch == "drop" else -(-n // s)

    @property
    def num_batches(self) -> int:
        if self.last_batch == "drop":
            return self.per_shard // self.batch_size
        return -(-self.per_shard // self.batch_size)

    def permutation(self, epoch: int) -> np.ndarray:
        """The whole epoch's order of sample indices, the same on every shard."""
        n = self.epoch_length
        # int32 where it fits: every worker holds this order, 4 bytes a sample and no int64 temporaries
        # (shuffling arange in place draws exactly what Generator.permutation(n) draws)
        order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
        if self.shuffle:
            np.random.default_rng([self.seed, epoch]).shuffle(order)
        if self.enlarge_ratio > 1:
            np.remainder(order, self.num_samples, out=order)
        return order

    def shard_indices(self, epoch: int) -> np.ndarray:
        """This shard's sample indices for the epoch: ``num_batches * batch_size`` of them."""
        order = self.permutation(epoch)
        total = self.per_shard * self.num_shards
        if total > len(order):  # pad: wrap around as DistributedSampler does
            order = np.resize(order, total)
        mine = order[self.shard_id:total:self.num_shards]
        need = self.num_batches * self.batch_size
        if need > len(mine):
            mine = np.resize(mine, need)
        return mine[:need]

    def position(self, batch: int, idx_in_batch: int) -> int:
        """A sample's global position in the epoch, the key of its random draws."""
        return (batch * self.batch_size + idx_in_batch) * self.num_shards + self.shard_id


def sample_draws(seed: int, epoch: int, position: int, count: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Crop fractions in [0, 1) (``count`` of them) and hflip/vflip/transpose bits for one sample."""
    rng = np.random.default_rng([seed, epoch, position, 0x5EED])
    fractions = rng.random(count, dtype=np.float32)
    flips = (rng.random(3) < 0.5).astype(np.int32)
    return fractions, flips


def graph_seed(seed: int, shard_id: int, epoch: int, batch: int) -> int:
    """The seed of a DALI pipeline's own generators (the noise fields a graph draws) when the pipeline starts at
    ``batch`` of ``epoch`` on shard ``shard_id``.

    DALI's generators are per operator, not per sample: what they draw is a
    function of this seed, the batch size and every batch the pipeline made
    since its start. So the same seed and world size give the same run, ranks
    draw different fields, and a resume restores the generators' state from
    the loader's (a DALI checkpoint) rather than from this seed.
    """
    state = np.random.SeedSequence([seed, shard_id, epoch, batch, 0x6A7]).generate_state(1)[0]
    return int(state & 0x7FFFFFFF)


def window_anchor(fractions: np.ndarray, height: int, width: int, patch: int) -> tuple[int, int]:
    """Top-left ``(top, left)`` of a ``patch`` square: ``min(floor(f * (n - patch + 1)), n - patch)``.

    Computed in float32 as ``graph.ops.crop_anchor`` computes it inside DALI, so
    both paths choose the same window for the same draws.
    """
    room_h, room_w = np.float32(height - patch + 1), np.float32(width - patch + 1)
    top = min(np.floor(np.float32(fractions[0]) * room_h), room_h - np.float32(1))
    left = min(np.floor(np.float32(fractions[1]) * room_w), room_w - np.float32(1))
    return int(top), int(left)


def effective_flips(flips: np.ndarray, use_hflip: bool, use_rot: bool) -> tuple[int, int, int]:
    """The (hflip, vflip, transpose) a sample's draws give under the options, as ``graph.ops.augment`` applies them
    (BasicSR's augment: hflip from ``use_hflip``, vflip and transpose from ``use_rot``)."""
    return (int(flips[0]) if use_hflip else 0, int(flips[1]) if use_rot else 0, int(flips[2]) if use_rot else 0)


def rotated_always(flips: np.ndarray, use_hflip: bool, use_rot: bool) -> np.ndarray:
    """traiNNer-redux's GT-only augment as the (hflip, vflip, transpose) bits BasicSR's augment applies.

    It flips left-right (``use_hflip``), upside down (``use_rot``), then
    rotates 90 degrees clockwise with a draw of its own whatever ``use_rot``
    says (its ``augment_vips`` keeps ``rot90=True``). A clockwise rotation is
    a transpose then a left-right flip, and a transpose turns that flip into an
    upside-down one: rot90(V^v H^h x) = T(V^(v xor 1) H^h x). So the bits are
    (h, v xor r, r): with ``use_rot`` all eight orientations equally likely, as
    BasicSR's; without it, four (no flip, left-right, and each rotated).
    """
    h = int(flips[0]) if use_hflip else 0
    v = int(flips[1]) if use_rot else 0
    r = int(flips[2])
    return np.array([h, v ^ r, r], dtype=np.int32)


def gt_window(height: int, width: int, scale: int, gt_size: int | None, fractions: np.ndarray, train: bool,
              margin: int, flips: tuple[int, int, int] = (0, 0, 0)) -> GTWindow:
    """The window of a GT-only sample whose LQ is the bicubic downscale of the whole (modcropped) image.

    As HAT's ImageNetPairedDataset: the image is cut to a multiple of ``scale`` (modcrop), then upscaled to
    ``gt_size`` on an axis shorter than that (bilinear), then downscaled by ``scale``. Training takes a
    ``gt_size`` crop of GT and its aligned ``gt_size / scale`` crop of LQ (top-left from ``fractions``, as
    :func:`window_anchor`); val keeps the whole image. The decoded box is the GT crop plus ``margin`` (a
    multiple of ``scale``) on each side, cut at the image's edge; an upscaled axis is decoded whole.

    ``flips`` (hflip, vflip, transpose: :func:`effective_flips`) are BasicSR's ``augment``, which flips the crops
    left-right, then upside down, then transposes them. The graph flips the decoded box upside down (cheap:
    rows in another order), so the crops' rows are given in that flipped frame; the left-right flip and the
    transpose it applies to the crops themselves. Both commute with the crop and with the symmetric downscale.
    """
    hm, wm = height - height % scale, width - width % scale
    if not hm or not wm:
        raise DalisrError(f"the image ({height}, {width}) is smaller than the scale {scale}")
    hu, wu = (max(hm, gt_size), max(wm, gt_size)) if gt_size else (hm, wm)
    if train:
        patch = gt_size // scale
        top, left = window_anchor(fractions, hu // scale, wu // scale, patch)
        crop = (top * scale, left * scale, gt_size, gt_size)
    else:
        crop = (0, 0, hu, wu)
    box, window, at, whole = [], [], [], True
    for start, length, full, kept in ((crop[0], crop[2], hu, hm), (crop[1], crop[3], wu, wm)):
        if full != kept:  # upscaled: the whole axis is decoded and resized
            lo, hi = 0, full
            box.append((0, kept))
        else:
            lo, hi = max(0, start - margin), min(full, start + length + margin)
            box.append((lo, hi - lo))
        whole = whole and (lo, hi) == (start - margin, start + length + margin)
        window.append(hi - lo)
        at.append(start - lo)
    hflip, vflip, transpose = flips
    gt_top = window[0] - at[0] - crop[2] if vflip else at[0]
    return GTWindow(box[0][0], box[1][0], box[0][1], box[1][1], int(vflip), int((hu, wu) != (hm, wm)), window[0],
                    window[1], int(whole), gt_top, at[1], crop[2], crop[3], gt_top // scale, at[1] // scale,
                    crop[2] // scale, crop[3] // scale, int(hflip), int(transpose))
