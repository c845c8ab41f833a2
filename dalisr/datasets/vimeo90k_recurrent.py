"""Vimeo90KRecurrentDataset's index: all 7 frames of a septuplet, GT and LQ alike (BasicVSR on Vimeo90K).

BasicSR reads ``im1..im7`` whatever ``num_frame`` says (its options write
``num_frame: -1``), reverses the order with p = 0.5 under ``random_reverse``
and, with ``flip_sequence: true``, mirrors the 7 frames to 14
(``t = 0..6, 6..0``). The mirror is done in the graph (``GraphSpec.mirror_sequence``),
so each frame is read and decoded once. ``random_reverse`` is decided per
sample (BasicSR reverses its shared list in place, so one sample's order
leaks into the next; see vimeo90k.py). Batch ``key``: ``clip/seq``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..storage import Store
from .base import DatasetIndex, require_samples
from .reds import key_suffix, require_lmdb_keys
from .vimeo90k import SEPTUPLET, open_septuplets

FRAMES = tuple(range(1, SEPTUPLET + 1))


class Vimeo90KRecurrentDataset(DatasetIndex):
    """One septuplet per sample: GT and LQ ``clip/seq/im1..im7``, reversed per sample's draw."""

    roles = {"gt": SEPTUPLET, "lq": SEPTUPLET}
    sequences = frozenset({"gt", "lq"})

    def __init__(self, keys: Sequence[str], random_reverse: bool, suffix: str) -> None:
        self.keys = list(keys)
        self.random_reverse = bool(random_reverse)
        self.suffix = suffix

    def __len__(self) -> int:
        return len(self.keys)

    def name(self, index: int) -> str:
        return self.keys[index]

    def order(self, rng: np.random.Generator) -> tuple[int, ...]:
        """The frame numbers of one sample, in output order."""
        if self.random_reverse and rng.random() < 0.5:
            return FRAMES[::-1]
        return FRAMES

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        seq = self.keys[index]
        keys = tuple(f"{seq}/im{n}{self.suffix}" for n in self.order(rng))
        return {"gt": keys, "lq": keys}

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        return {"key": [self.keys[int(i)] for i in indices]}


def build_vimeo90k_recurrent(cfg: DatasetConfig) -> tuple[Vimeo90KRecurrentDataset, dict[str, Store]]:
    meta, keys, stores = open_septuplets(cfg)
    dataset = Vimeo90KRecurrentDataset(keys, bool(cfg.get("random_reverse", False)), key_suffix(stores["gt"]))
    require_samples(keys, meta)
    for role in ("gt", "lq"):  # unlike Vimeo90KDataset's GT LMDB (im4 only), GT needs all 7 frames here
        require_lmdb_keys(stores[role], (f"{k}/im{n}" for k in keys for n in FRAMES), meta)
    return dataset, stores
