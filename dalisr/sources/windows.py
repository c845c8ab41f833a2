"""Crop while reading: the reader cuts the windows the graph would crop, so the graph skips decode and crop.

Both codecs share the graph's crop rule (:func:`dalisr.sampling.window_anchor`
is ``graph.ops.crop_anchor`` in numpy, float32 for float32) and BasicSR's
size checks. ``raw`` values (LMDBs whose ``meta_info.txt`` says ``raw``) are
sliced from the memory map, whole frames in the val phase; ``png`` values
(training crops, any store) decode only the rows the window needs
(:mod:`.window_decode`). A sample's values are first opened
(:meth:`WindowReader.opened`: read, sizes known), then cut at the windows
chosen from their sizes, which is how :mod:`.crop_pad` reuses both steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..datasets.base import check_pair_shapes
from ..errors import DalisrError
from ..formats.meta_info import RAW
from ..formats.png import read_png_header
from ..formats.raw import raw_pixels
from ..sampling import window_anchor
from ..storage import Store
from .base import Frames, gt_partner
from .stats import SourceStats
from .value_rules import ValueRules
from .window_decode import decode_png_window, decoded_shape, raw_window

Window = tuple[int, int, int, int]  # top, left, height, width


@dataclass
class OpenedSample:
    """One sample's values, read: their (h, w) per role, and :meth:`cut` to take windows of them."""

    reader: WindowReader
    keys: dict[str, tuple[str, ...]]
    values: dict[str, list]  # raw: pixel views into the memory map; png: encoded bytes
    shapes: dict[str, list[tuple[int, int]]]
    started: float
    read_s: float
    txns: dict[int, object] = field(default_factory=dict)  # raw without a page map: LMDB read transactions

    def __enter__(self) -> OpenedSample:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """End the read transactions the raw views point into."""
        for txn in self.txns.values():
            txn.abort()
        self.txns.clear()

    def cut(self, windows: dict[str, list[Window]]) -> Frames:
        """The windows (every frame of every role, in ``roles`` order), HWC RGB (uint8, or uint16 where the
        reader's rules say 16 bits)."""
        reader, out, decoded, paths = self.reader, [], 0, []
        raw = reader.codec == RAW
        dtype = np.uint16 if reader.rules.depth == 16 else np.uint8
        for role in reader.roles:
            if role not in windows:
                continue
            where = reader.stores[role].describe()
            for key, value, (top, left, h, w) in zip(self.keys[role], self.values[role], windows[role]):
                if raw:
                    win = raw_window(value, top, left, h, w, key, where)
                    decoded += win.nbytes
                else:
                    win, nbytes, path = decode_png_window(value, top, left, h, w, key, where, dtype=dtype)
                    decoded += nbytes
                    paths.append(path)
                out.append(win)
        mismatches = paths.count("mismatch")
        if reader.stats is not None:
            encoded = decoded if raw else sum(len(v) for vs in self.values.values() for v in vs)
            reader.stats.add(read_s=self.read_s, decode_s=time.perf_counter() - self.started - self.read_s,
                             encoded_bytes=encoded, decoded_bytes=decoded, seek_windows=paths.count("seek"),
                             seek_mismatches=mismatches)
        return Frames(out, mismatches)


@dataclass
class WindowReader:
    """Emits the windows the graph would crop, already cut (HWC uint8 RGB).

    Training (``crop``): every LQ frame gets the window of ``window_anchor``
    on the first LQ frame (patch ``gt_size // scale``), every GT frame the
    same window times ``scale``; single-role datasets a ``gt_size`` window of
    their frames. Otherwise (raw only): whole frames, GT cut to ``lq * scale``.
    """

    stores: dict[str, Store]
    roles: dict[str, int]
    codec: str
    crop: bool
    scale: int = 1
    gt_size: int | None = None
    stats: SourceStats | None = None
    rules: ValueRules = ValueRules()

    emits_pixels = True

    def __post_init__(self) -> None:
        if self.codec not in ("png", RAW):
            raise DalisrError(f"codec '{self.codec}' is not png or raw")

    @property
    def patch(self) -> int:
        """Side of the LQ window (GT-only: of the GT window)."""
        return self.gt_size // self.scale if "lq" in self.roles else self.gt_size

    def load(self, keys: dict[str, tuple[str, ...]], fractions: np.ndarray, flips: np.ndarray) -> Frames:
        with self.opened(keys) as sample:
            return sample.cut(self.windows(keys, sample.shapes, fractions))

    def opened(self, keys: dict[str, tuple[str, ...]]) -> OpenedSample:
        """The sample's values read and measured, to use in a ``with`` block: raw views stay valid until it ends."""
        started = time.perf_counter()
        if self.codec != RAW:
            values = {role: [self._value(role, k) for k in keys[role]] for role in self.roles}
            read_s = time.perf_counter() - started
            shapes = {role: [self._png_shape(v, k, role) for k, v in zip(keys[role], values[role])]
                      for role in self.roles}
            return OpenedSample(self, keys, values, shapes, started, read_s)
        sample = OpenedSample(self, keys, {}, {}, started, 0.0)
        try:
            for role in self.roles:
                sample.values[role] = [self._raw_view(role, k, sample.txns) for k in keys[role]]
                sample.shapes[role] = [v.shape[:2] for v in sample.values[role]]
        except BaseException:
            sample.close()
            raise
        sample.read_s = time.perf_counter() - started
        return sample

    # -- geometry -------------------------------------------------------------------------------------------------
    def windows(self, keys: dict, shapes: dict[str, list[tuple[int, int]]], fractions) -> dict[str, list[Window]]:
        """(top, left, h, w) per frame, after BasicSR's size checks on the frames' (h, w)."""
        if "lq" in self.roles and "gt" in self.roles:
            return self._paired_windows(keys, shapes, fractions)
        (role,) = self.roles
        if not self.crop:
            return {role: [(0, 0, fh, fw) for fh, fw in shapes[role]]}
        h, w = shapes[role][0]
        size = self.gt_size
        if h < size or w < size:
            key = keys[role][0]
            raise DalisrError(f"{role.upper()} ({h}, {w}) of key '{key}' in {self.stores[role].describe()} is "
                              f"smaller than the patch size ({size}, {size}) = gt_size. Please remove {key}")
        top, left = window_anchor(fractions, h, w, size)
        return {role: [(top, left, size, size)] * len(shapes[role])}

    def _paired_windows(self, keys: dict, shapes: dict[str, list[tuple[int, int]]], fractions) -> dict[str, list]:
        where = self.stores["lq"].describe()
        num_gt = len(shapes["gt"])
        for j, (key, lq_hw) in enumerate(zip(keys["lq"], shapes["lq"])):
            gh, gw = shapes["gt"][gt_partner(j, num_gt)]
            if self.crop:
                check_pair_shapes((gh, gw), lq_hw, key, where, self.scale, self.gt_size)
            elif gh < lq_hw[0] * self.scale or gw < lq_hw[1] * self.scale:  # val: GT is cut to lq * scale
                raise DalisrError(
                    f"Scale mismatches for key '{key}' in {where}: GT ({gh}, {gw}) is smaller than {self.scale}x "
                    f"LQ {tuple(lq_hw)}. Fix: regenerate the LQ image or correct scale")
        qh, qw = shapes["lq"][0]
        if self.crop:
            p = self.patch
            top, left = window_anchor(fractions, qh, qw, p)
            return {"gt": [(top * self.scale, left * self.scale, self.gt_size, self.gt_size)] * num_gt,
                    "lq": [(top, left, p, p)] * len(shapes["lq"])}
        return {"gt": [(0, 0, qh * self.scale, qw * self.scale)] * num_gt,
                "lq": [(0, 0, h, w) for h, w in shapes["lq"]]}

    # -- reading ----------------------------------------------------------------------------------------------------
    def _value(self, role: str, key: str) -> bytes:
        store = self.stores[role]
        data = store.get(key)
        if not data:
            raise DalisrError(f"key '{key}' in {store.describe()} is empty (0 bytes). Fix: re-create it")
        self.rules.check(data, key, store.describe())
        return data

    def _png_shape(self, data: bytes, key: str, role: str) -> tuple[int, int]:
        head = read_png_header(data)
        if head is None:  # not PNG: decode whole to learn the size (rare: the first value was PNG)
            return decoded_shape(data, key, self.stores[role].describe())
        return head.height, head.width

    def _raw_view(self, role: str, key: str, txns: dict) -> np.ndarray:
        store = self.stores[role]
        pages = store.value_map()  # views that read only the rows a window uses
        if pages is not None:
            buf = pages.view(key.encode("ascii"))
        else:
            txn = txns.get(id(store))
            if txn is None:
                txn = txns[id(store)] = store.env().begin(write=False, buffers=True)
            buf = store.get_view(txn, key)
        if buf is None:
            raise DalisrError(f"key '{key}' not found in {store.describe()}. Fix: check that "
                              "meta_info.txt matches the data (re-create the LMDB) or the key spelling.")
        return raw_pixels(buf, key, store.describe())
