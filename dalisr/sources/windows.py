"""Sources that crop while reading: the graph then skips decode and crop, keeps augment and to_tensor.

Two readers share one crop rule, the graph's (:func:`dalisr.sampling.window_anchor` is
``graph.ops.crop_anchor`` in numpy, float32 for float32):

* ``raw`` (LMDBs whose ``meta_info.txt`` says ``raw``): the window is sliced
  from the value inside the memory map (``env.begin(buffers=True)``) and only
  the patch is copied. Nothing is decoded. Whole images in the val phase.
* ``png`` (training crops of PNG values, any store): dalisr's row decoder
  (:mod:`dalisr.formats.png_rows`) unfilters only the rows down to the
  window's bottom edge, and of those only the bytes left of its right edge;
  ``png-seek`` values start at the restart point above the window instead of
  the top. PNG pixels are lossless, so the window equals
  ``cv2.imdecode(..., IMREAD_COLOR)`` cut at the same place, bit for bit; the
  value's CRCs and (for the rows path) its zlib Adler-32 are checked, so a
  truncated or corrupt PNG fails as it does when decoded whole. PNGs outside
  the row decoder (16-bit, palette, interlaced, tRNS) and non-PNG values are
  decoded whole with ``cv2.imdecode``, exactly as BasicSR does.

Windows are emitted as HWC uint8 RGB (``IMREAD_COLOR``'s channels: gray
expanded, alpha dropped), the layout the DALI decoder gives the graph.
"""

from __future__ import annotations

import copy
import logging
import time

import numpy as np

from ..datasets.base import check_pair_shapes
from ..errors import DalisrError
from ..formats.meta_info import RAW
from ..formats.png import read_png_header
from ..formats.png_rows import CorruptPng, as_rgb, read_parts, row_decoder_built, window_rows
from ..formats.raw import as_color, is_raw, raw_pixels
from ..sampling import window_anchor
from .base import SampleSource, gt_partner, key_rng

log = logging.getLogger(__name__)

# -- PNG: decode only the rows the window needs -------------------------------------------------------------------
def decode_png_window(buf: bytes, top: int, left: int, height: int, width: int, key: str = "?",
                      where: str = "?") -> tuple[np.ndarray, int, str]:
    """The RGB window of a PNG (or any image OpenCV reads), the pixel bytes decoded for it, and the path taken.

    Paths: ``seek`` (a ``png-seek`` value: from the restart above the window),
    ``rows`` (rows from the top, :mod:`dalisr.formats.png_rows`), ``mismatch``
    (a ``png-seek`` index that did not fit its data: decoded the ``rows`` way)
    and ``whole`` (``cv2.imdecode``: PNGs the row decoder does not take, other formats).
    """
    try:
        parts = read_parts(buf)
    except CorruptPng as exc:
        raise _undecodable(key, where, buf, exc) from None
    if parts is not None and parts.channels is not None and row_decoder_built():
        if top + height > parts.height or left + width > parts.width:
            raise _outside(key, where, (parts.height, parts.width), top, left, height, width)
        try:
            rows = window_rows(parts, top, top + height, left + width)
        except CorruptPng as exc:
            raise _undecodable(key, where, buf, exc) from None
        win = as_rgb(rows.pixels[top - rows.first:, left:])
        return win, rows.pixels.nbytes, rows.path
    import cv2

    img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise _undecodable(key, where, buf)
    win = img[top:top + height, left:left + width, ::-1]
    if win.shape[:2] != (height, width):
        raise _outside(key, where, img.shape, top, left, height, width)
    return np.ascontiguousarray(win), img.nbytes, "whole"


def png_window(buf: bytes, top: int, left: int, height: int, width: int, key: str = "?",
               where: str = "?") -> tuple[np.ndarray, int]:
    """The RGB window of a PNG (or any image OpenCV reads), and how many pixel bytes were decoded for it."""
    win, nbytes, _ = decode_png_window(buf, top, left, height, width, key, where)
    return win, nbytes


def _undecodable(key: str, where: str, buf, reason: Exception | None = None) -> DalisrError:
    extra = " (it is a raw-codec value: those are read from LMDBs whose meta_info.txt says raw)" if is_raw(buf) else ""
    if reason is not None:
        extra += f": {reason}"
    return DalisrError(f"key '{key}' in {where} does not decode as an image ({len(buf)} bytes){extra}. "
                       "Fix: re-create it from the source image")


def _outside(key, where, shape, top, left, height, width) -> DalisrError:
    return DalisrError(f"key '{key}' in {where}: the {height}x{width} window at ({top}, {left}) leaves the image "
                       f"of shape {tuple(shape)}. Fix: check gt_size and scale against the image sizes")


def raw_window(view: np.ndarray, top: int, left: int, height: int, width: int, key: str = "?",
               where: str = "?") -> np.ndarray:
    """The RGB window of raw pixels (a view into the memory map): only the window is copied."""
    win = as_color(view)[top:top + height, left:left + width, ::-1]
    if win.shape[:2] != (height, width):
        raise _outside(key, where, view.shape, top, left, height, width)
    return np.ascontiguousarray(win)


class PatchSource(SampleSource):
    """A :class:`SampleSource` that emits the windows the graph would crop, already cut (HWC uint8 RGB).

    Training: every LQ frame gets the window of ``window_anchor`` on the
    first LQ frame (patch ``gt_size // scale``), every GT frame the same
    window times ``scale``; single-role datasets a ``gt_size`` window of
    their frames. Val (raw only): whole frames, GT cut to ``lq * scale``. The sample index, skip record,
    fractions and flips follow as from :class:`SampleSource`.
    """

    emits_pixels = True

    def __init__(self, base: SampleSource, codec: str, crop: bool) -> None:
        self.__dict__.update(copy.copy(base.__dict__))
        if codec not in ("png", RAW):
            raise DalisrError(f"codec '{codec}' is not png or raw")
        self.codec = codec
        self.crop = crop

    @property
    def patch(self) -> int:
        """Side of the LQ window (GT-only: of the GT window)."""
        return self.gt_size // self.scale if "lq" in self.dataset.roles else self.gt_size

    def _load(self, index: int, epoch: int, position: int, fractions: np.ndarray | None = None) -> tuple[list, dict]:
        keys = self.dataset.keys_for(index, key_rng(self.plan.seed, epoch, position))
        for role, count in self.dataset.roles.items():
            if len(keys[role]) != count:
                raise DalisrError(f"sample {index} has {len(keys[role])} {role} keys, expected {count}")
        if self.codec == RAW:
            return self._load_raw(keys, fractions), keys
        return self._load_png(keys, fractions), keys

    # -- geometry -------------------------------------------------------------------------------------------------
    def _windows(self, keys: dict, shapes: dict[str, list[tuple[int, int]]], fractions) -> dict[str, list[tuple]]:
        """(top, left, h, w) per frame, after BasicSR's size checks on the frames' (h, w).

        Every LQ frame gets the LQ window, every GT frame the GT window; a
        single-role dataset (GT only, LQ only) gets a ``gt_size`` window on all its frames.
        """
        if "lq" in self.dataset.roles and "gt" in self.dataset.roles:
            return self._paired_windows(keys, shapes, fractions)
        out: dict[str, list[tuple]] = {}
        (role,) = self.dataset.roles
        h, w = shapes[role][0]
        if self.crop:
            size = self.gt_size
            if h < size or w < size:
                key = keys[role][0]
                raise DalisrError(f"{role.upper()} ({h}, {w}) of key '{key}' in {self.stores[role].describe()} is "
                                  f"smaller than the patch size ({size}, {size}) = gt_size. Please remove {key}")
            top, left = window_anchor(fractions, h, w, size)
            out[role] = [(top, left, size, size)] * len(shapes[role])
        else:
            out[role] = [(0, 0, fh, fw) for fh, fw in shapes[role]]
        return out

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
            return {"lq": [(top, left, p, p)] * len(shapes["lq"]),
                    "gt": [(top * self.scale, left * self.scale, self.gt_size, self.gt_size)] * num_gt}
        return {"lq": [(0, 0, h, w) for h, w in shapes["lq"]],
                "gt": [(0, 0, qh * self.scale, qw * self.scale)] * num_gt}

    # -- raw: slice the memory map ----------------------------------------------------------------------------------
    def _load_raw(self, keys: dict, fractions) -> list[np.ndarray]:
        start = time.perf_counter()
        txns = {}
        try:
            views: dict[str, list[np.ndarray]] = {}
            for role in self.dataset.roles:
                store = self.stores[role]
                pages = store.value_map()  # views that read only the rows a window uses
                txn = None
                if pages is None:
                    txn = txns.get(id(store))
                    if txn is None:
                        txn = txns[id(store)] = store.env().begin(write=False, buffers=True)
                views[role] = []
                for key in keys[role]:
                    buf = pages.view(key.encode("ascii")) if pages is not None else store.get_view(txn, key)
                    if buf is None:
                        raise DalisrError(f"key '{key}' not found in {store.describe()}. Fix: check that "
                                          "meta_info.txt matches the data (re-create the LMDB) or the key spelling.")
                    views[role].append(raw_pixels(buf, key, store.describe()))
            read_s = time.perf_counter() - start
            shapes = {role: [v.shape[:2] for v in vs] for role, vs in views.items()}
            windows = self._windows(keys, shapes, fractions)
            out = []
            for role in self.dataset.roles:
                where = self.stores[role].describe()
                for key, view, (top, left, h, w) in zip(keys[role], views[role], windows[role]):
                    out.append(raw_window(view, top, left, h, w, key, where))
        finally:
            for txn in txns.values():
                txn.abort()
        if self.stats is not None:
            copied = sum(x.nbytes for x in out)
            self.stats.add(read_s=read_s, decode_s=time.perf_counter() - start - read_s, encoded_bytes=copied,
                           decoded_bytes=copied)
        return out

    # -- PNG: decode down to the window ------------------------------------------------------------------------------
    def _load_png(self, keys: dict, fractions) -> list[np.ndarray]:
        start = time.perf_counter()
        values: dict[str, list[bytes]] = {}
        for role in self.dataset.roles:
            store = self.stores[role]
            values[role] = []
            for key in keys[role]:
                data = store.get(key)
                if not data:
                    raise DalisrError(f"key '{key}' in {store.describe()} is empty (0 bytes). Fix: re-create it")
                values[role].append(data)
        read_s = time.perf_counter() - start
        shapes = {}
        for role, datas in values.items():
            shapes[role] = []
            for key, data in zip(keys[role], datas):
                head = read_png_header(data)
                if head is None:  # not PNG: decode whole to learn the size (rare: the sniff saw PNG)
                    shapes[role].append(_decoded_shape(data, key, self.stores[role].describe()))
                else:
                    shapes[role].append((head.height, head.width))
        windows = self._windows(keys, shapes, fractions)
        out, decoded, paths = [], 0, []
        for role in self.dataset.roles:
            where = self.stores[role].describe()
            for key, data, (top, left, h, w) in zip(keys[role], values[role], windows[role]):
                win, nbytes, path = decode_png_window(data, top, left, h, w, key, where)
                out.append(win)
                decoded += nbytes
                paths.append(path)
        self.seek_mismatches += paths.count("mismatch")
        if self.stats is not None:
            self.stats.add(read_s=read_s, decode_s=time.perf_counter() - start - read_s,
                           encoded_bytes=sum(len(d) for ds in values.values() for d in ds), decoded_bytes=decoded,
                           seek_windows=paths.count("seek"), seek_mismatches=paths.count("mismatch"))
        return out


def _decoded_shape(data: bytes, key: str, where: str) -> tuple[int, int]:
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise _undecodable(key, where, data)
    return img.shape[:2]


def _first_value_is_png(source: SampleSource) -> bool:
    """Whether the first sample's first GT value is a PNG (datasets are one format throughout)."""
    try:
        keys = source.dataset.keys_for(0, key_rng(source.plan.seed, 0, 0))
        role = next(iter(source.dataset.roles))
        data = source.stores[role].peek(keys[role][0])
    except Exception:  # a broken first sample fails later, where it is read, with its own message
        return False
    return read_png_header(data) is not None


def patch_source(source: SampleSource, *, train: bool, crop: bool, png_window: bool = True) -> SampleSource:
    """The source a pipeline should run: a :class:`PatchSource` where one applies, else ``source`` itself.

    Raw LMDBs always (the graph cannot decode them); PNG values when
    ``png_window`` is on and a training crop is cut (``crop``). A dataset whose
    stores mix raw with encoded values is refused. JPEG 2000 values stay
    with DALI, which decodes them on the GPU under ``mixed``.
    """
    codecs = {store.codec() for store in source.stores.values()}
    if RAW in codecs:
        if len(codecs) > 1:
            where = ", ".join(s.describe() for s in source.stores.values())
            raise DalisrError(f"the stores of one dataset mix raw and encoded values ({where}). Fix: convert "
                              "them to one codec with `dalisr convert SRC DST --codec raw|png|jp2`")
        return PatchSource(source, RAW, crop=train and crop)
    if png_window and train and crop and _first_value_is_png(source):
        return PatchSource(source, "png", crop=True)
    return source
