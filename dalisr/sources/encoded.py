"""Whole encoded values: the bytes go to DALI's decoder, after BasicSR's size checks on their headers."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..datasets.base import check_pair_shapes
from ..errors import DalisrError
from ..formats.codec import header_shape
from ..formats.png import png_intact
from ..storage import Store
from .base import Frames, gt_partner, split_roles
from .stats import SourceStats
from .value_rules import ValueRules


def check_sizes(gt: bytes, lq: bytes, key: str, where: str, scale: int, gt_size: int | None) -> None:
    """BasicSR's paired_random_crop checks (:func:`check_pair_shapes`) on PNG or JPEG 2000 headers, before decoding."""
    g, q = header_shape(gt), header_shape(lq)
    if g is None or q is None:
        return  # neither PNG nor JPEG 2000: the decoder will tell
    check_pair_shapes(g[:2], q[:2], key, where, scale, gt_size)


def intact(data: bytes) -> bool:
    """Cheap integrity check: PNG chunk CRCs, else a full OpenCV decode."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return png_intact(data)
    import cv2

    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) is not None
    except cv2.error:
        return False


def read_checked(store: Store, key: str, check_intact: bool) -> tuple[bytes, float]:
    """The value of ``key`` read whole, and the seconds the read took. DalisrError where it is empty, or (with
    ``check_intact``, i.e. ``on_error: skip``) truncated or corrupt: here the source can replace its sample."""
    start = time.perf_counter()
    data = store.get(key)
    read_s = time.perf_counter() - start
    if not data:
        raise DalisrError(f"key '{key}' in {store.describe()} is empty (0 bytes). Fix: re-create it")
    if check_intact and not intact(data):
        raise DalisrError(f"key '{key}' in {store.describe()} is truncated or corrupt ({len(data)} bytes). "
                          "Fix: re-create it from the source image (or re-copy the store)")
    return data, read_s


@dataclass
class EncodedReader:
    """Reads each frame's encoded value whole (DALI decodes it). ``check_pairs``: GT and LQ headers are checked
    against ``scale`` and ``gt_size`` (training); ``check_intact``: a corrupt value fails here, where the
    source can replace its sample (``on_error: skip``), not in DALI's decoder."""

    stores: dict[str, Store]
    roles: dict[str, int]
    scale: int = 1
    gt_size: int | None = None
    check_pairs: bool = False
    check_intact: bool = False
    stats: SourceStats | None = None
    rules: ValueRules = ValueRules()

    emits_pixels = False
    codec = "png"

    def __post_init__(self) -> None:
        self.check_pairs = self.check_pairs and "lq" in self.roles and "gt" in self.roles

    def load(self, keys: dict[str, tuple[str, ...]], fractions: np.ndarray, flips: np.ndarray) -> Frames:
        out = []
        read_s = 0.0
        for role in self.roles:
            store = self.stores[role]
            for k in keys[role]:
                data, seconds = read_checked(store, k, self.check_intact)
                self.rules.check(data, k, store.describe())
                read_s += seconds
                out.append(np.frombuffer(data, dtype=np.uint8))
        if self.check_pairs:
            frames = split_roles(out, self.roles)
            for j, lq in enumerate(frames["lq"]):
                gt = frames["gt"][gt_partner(j, len(frames["gt"]))]
                check_sizes(gt, lq, keys["lq"][j], self.stores["lq"].describe(), self.scale, self.gt_size)
        if self.stats is not None:
            shapes = [header_shape(x) for x in out]
            self.stats.add(read_s=read_s, encoded_bytes=sum(len(x) for x in out),
                           decoded_bytes=sum(s[0] * s[1] * 3 for s in shapes if s is not None))
        return Frames(out)
