"""Decode only the rows of a PNG that a crop window needs: chunk walk, inflate, unfilter (dalisr's own decoder).

Two ways in, both bit-exact with ``cv2.imdecode`` cut at the same place (8-bit PNGs: ``IMREAD_COLOR``;
16-bit ones: ``IMREAD_UNCHANGED``, their samples kept 16-bit):

* ``rows`` (any 8- or 16-bit non-interlaced gray, gray+alpha, RGB or RGBA PNG without tRNS, e.g. every
  BasicSR LMDB value): the whole zlib stream is inflated, so its Adler-32 is
  checked exactly as libpng checks it, then rows 0 .. bottom - 1 are
  unfiltered, and of each row only the bytes up to the window's right edge
  (no PNG filter reads to the right).
* ``seek`` (``png-seek`` values, :mod:`dalisr.formats.png_seek`): only the
  segments from the restart at or above the window's top down to its bottom
  are inflated; each one's Adler-32 is checked against the index, the
  index's checksums must combine to the stream's own Adler-32 trailer, and
  every offset must follow a full-flush marker. An
  index that does not fit the data (or a restart row whose filter reads the
  row above) is never trusted: the value is decoded the ``rows`` way instead
  (``mismatch``), so it can never give wrong pixels.

Every chunk's CRC is checked first, whole file, and the file must end with
IEND: a truncated or bit-rotted value fails as it fails when decoded whole.
Rows a ``seek`` window does not touch are CRC-checked but not inflated: a
value whose compressed data is corrupt although its CRCs are valid (written
that way) fails on every window that reads a bad segment, and in
``dalisr verify``, but not on windows that never read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import inflate
from .png import PNG_SIGNATURE
from .png_seek import CHUNK, parse_index

#: colour types decoded here (8- or 16-bit samples), with their channels: gray, RGB, gray + alpha, RGBA
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


class CorruptPng(ValueError):
    """The PNG's chunks, zlib stream or scanlines are damaged: a whole decode would fail too."""


@dataclass
class PngParts:
    """What a PNG's chunks say, without the pixels."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlace: int
    stream: bytes | memoryview  # the zlib stream: the IDAT payloads joined
    index: bytes | None  # the skPT payload, if any
    transparency: bool  # a tRNS chunk (OpenCV may turn it into alpha: decoded whole)

    @property
    def channels(self) -> int | None:
        """Samples per pixel where this module decodes the image, else None (palette, 1/2/4-bit, interlaced, tRNS)."""
        if self.bit_depth not in (8, 16) or self.interlace != 0 or self.transparency:
            return None
        return _CHANNELS.get(self.colour_type)

    @property
    def bpp(self) -> int:
        """Bytes per pixel of an image this module decodes (16-bit samples take two, big-endian)."""
        return self.channels * self.bit_depth // 8


def read_parts(buf: bytes | memoryview) -> PngParts | None:
    """The chunks of a PNG after checking every CRC and the IEND; None if ``buf`` is no PNG; CorruptPng if damaged."""
    data = memoryview(buf)
    if (bytes(data[:8]) != PNG_SIGNATURE or len(data) < 33 or bytes(data[12:16]) != b"IHDR"
            or int.from_bytes(data[8:12], "big") != 13):
        return None
    head = bytes(data[16:29])
    idat: list[memoryview] = []
    index = None
    transparency = False
    at, end = 8, len(data)
    crc32 = inflate.crc32
    while True:
        if at + 12 > end:
            raise CorruptPng("the file ends before its IEND chunk (truncated)")
        length = int.from_bytes(data[at:at + 4], "big")
        body_end = at + 8 + length
        if body_end + 4 > end:
            raise CorruptPng("a chunk runs past the end of the file (truncated)")
        if crc32(data[at + 4:body_end]) != int.from_bytes(data[body_end:body_end + 4], "big"):
            raise CorruptPng(f"chunk {bytes(data[at + 4:at + 8])!r} at byte {at} fails its CRC")
        tag = bytes(data[at + 4:at + 8])
        if tag == b"IDAT":
            idat.append(data[at + 8:body_end])
        elif tag == b"IEND":
            break
        elif tag == CHUNK:
            index = bytes(data[at + 8:body_end])
        elif tag == b"tRNS":
            transparency = True
        at = body_end + 4
    if not idat:
        raise CorruptPng("no IDAT chunk")
    stream = idat[0] if len(idat) == 1 else b"".join(idat)
    width, height = int.from_bytes(head[0:4], "big"), int.from_bytes(head[4:8], "big")
    return PngParts(width, height, head[8], head[9], head[12], stream, index, transparency)


@dataclass
class Rows:
    """Unfiltered rows ``first .. first + len(pixels) - 1`` of an image, each cut at the window's right edge."""

    pixels: np.ndarray  # rows x columns x bytes per pixel, uint8 (16-bit samples: two bytes each, big-endian)
    first: int
    path: str  # "rows", "seek" or "mismatch" (an index that did not fit the data: decoded the rows way)


def _unfilter(scanlines, stride: int, bpp: int, rows: int, keep_px: int) -> np.ndarray:
    from .._ext.pngrows import unfilter

    out = np.empty((rows, keep_px, bpp), np.uint8)
    try:
        unfilter(scanlines, stride, bpp, rows, keep_px * bpp, out)
    except ValueError as exc:
        raise CorruptPng(str(exc)) from None
    return out


def rows_from_top(parts: PngParts, bottom: int, keep_px: int) -> Rows:
    """Rows 0 .. bottom - 1 after inflating the whole stream (its Adler-32 checked)."""
    bpp = parts.bpp
    stride = parts.width * bpp
    try:
        raw = inflate.inflate(parts.stream)
    except inflate.Error as exc:
        raise CorruptPng(f"the compressed image data is corrupt ({exc})") from None
    if len(raw) < parts.height * (stride + 1):
        raise CorruptPng(f"the image data holds {len(raw)} bytes, its {parts.width}x{parts.height} pixels need "
                         f"{parts.height * (stride + 1)}")
    return Rows(_unfilter(raw, stride, bpp, bottom, keep_px), 0, "rows")


def rows_from_restart(parts: PngParts, top: int, bottom: int, keep_px: int) -> Rows | None:
    """Rows from the restart at or above ``top`` to ``bottom - 1`` (a ``png-seek`` value), or None if its
    index does not fit the data."""
    found = parse_index(parts.index, parts.height)
    if found is None:
        return None
    k, offsets, adlers = found
    bpp = parts.bpp
    stride = parts.width * bpp
    stream = parts.stream
    n, line = len(offsets), stride + 1
    if (offsets[0] != 2 or np.any(np.diff(offsets) <= 0) or offsets[-1] >= len(stream) - 4
            or not _at_flush_points(stream, offsets[1:])
            or not _adlers_make_trailer(adlers, k, parts.height, line, bytes(stream[-4:]))):
        return None
    s0, s1 = top // k, (bottom - 1) // k
    first = s0 * k
    stop = int(offsets[s1 + 1]) if s1 + 1 < n else len(stream) - 4
    try:
        raw = inflate.inflate_raw(stream[int(offsets[s0]):stop])
    except inflate.Error:
        return None
    rows = min((s1 + 1) * k, parts.height) - first
    if len(raw) != rows * line or raw[0] > 1:  # a restart row must not read the row above
        return None
    view = memoryview(raw)
    for s in range(s0, s1 + 1):
        a = (s - s0) * k * line
        if inflate.adler32(view[a:a + k * line]) != adlers[s]:
            return None
    try:
        pixels = _unfilter(raw, stride, bpp, bottom - first, keep_px)
    except CorruptPng:
        return None
    return Rows(pixels, first, "seek")


_SYNC = np.frombuffer(b"\x00\x00\xff\xff", np.uint8)


def _at_flush_points(stream, offsets: np.ndarray) -> bool:
    """Whether every offset follows the empty stored block (``00 00 FF FF``) a full flush ends with."""
    data = np.frombuffer(stream, np.uint8)
    return bool(np.array_equal(data[offsets[:, None] + np.arange(-4, 0)], np.broadcast_to(_SYNC, (len(offsets), 4))))


def _adlers_make_trailer(adlers: np.ndarray, k: int, height: int, line: int, trailer: bytes) -> bool:
    """Whether the segments' Adler-32s combine to the stream's.

    With A = 1 + the sum of the bytes and B = the sum of the running A values
    (mod 65521), joining segments adds their A - 1 to A, and every running A
    of segment i grows by (A before it) - 1, so B = sum(B_i + len_i * (A before segment i - 1)).
    """
    base = 65521
    a_minus_1 = (adlers & 0xFFFF) - 1
    before = (np.cumsum(a_minus_1) - a_minus_1) % base
    lengths = np.minimum(k, height - k * np.arange(len(adlers))) * line
    a = (1 + int(a_minus_1.sum())) % base
    b = (int((adlers >> 16).sum()) + int((lengths * before % base).sum())) % base
    return ((b << 16) | a) == int.from_bytes(trailer, "big")


def window_rows(parts: PngParts, top: int, bottom: int, right: int) -> Rows:
    """The rows a window ``top .. bottom - 1`` x ``0 .. right - 1`` needs: from a restart where the value has a
    trustworthy index, else from the top."""
    if parts.index is not None:
        rows = rows_from_restart(parts, top, bottom, right)
        if rows is not None:
            return rows
        rows = rows_from_top(parts, bottom, right)
        rows.path = "mismatch"
        return rows
    return rows_from_top(parts, bottom, right)


def as_rgb(pixels: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """``IMREAD_COLOR``'s channels of PNG pixels (rows x cols x bytes per pixel, uint8) as contiguous RGB: gray
    expanded, alpha dropped; uint8, or native uint16 where ``bit_depth`` is 16 (the big-endian samples swapped)."""
    if bit_depth == 16:
        pixels = pixels.view(">u2")  # the byte axis is contiguous in every window cut from the rows
    h, w, c = pixels.shape
    if c >= 3 and bit_depth == 8:
        return np.ascontiguousarray(pixels[:, :, :3])
    out = np.empty((h, w, 3), np.uint16 if bit_depth == 16 else np.uint8)
    out[...] = pixels[:, :, :3] if c >= 3 else pixels[:, :, :1]
    return out


_BUILT: list[bool] = []


def row_decoder_built() -> bool:
    """Whether the compiled unfilter (``dalisr._ext.pngrows``) is importable; warns once (log) when it is not."""
    if not _BUILT:
        try:
            from .._ext import pngrows  # noqa: F401
            _BUILT.append(True)
        except ImportError as exc:
            import logging

            logging.getLogger(__name__).warning(
                "dalisr's PNG row decoder is not built (%s): PNG crops are decoded whole with OpenCV, slower. "
                "Fix: run tools/setup.sh, or `pip install -e .` in the dalisr checkout", exc)
            _BUILT.append(False)
    return _BUILT[0]
