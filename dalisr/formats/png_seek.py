"""The seekable PNG codec (``png-seek``): standard PNGs whose rows can be decoded from the middle.

A ``png-seek`` value is an ordinary 8- or 16-bit PNG (any decoder reads it:
OpenCV, Pillow, libpng, BasicSR; 16-bit images keep their 16 bits), written so
that a reader can start inflating at every ``k``-th row:

* the deflate stream is cut by a *full flush* before rows 0, k, 2k, ...: the
  compressor's history is emptied there, so inflating can start at that byte;
* the first row of each segment uses filter None or Sub, which read nothing
  from the row above, so unfiltering can start there too;
* a private ancillary chunk ``skPT`` (lower-case first letter: decoders that
  do not know it skip it; upper-case last letter: editors that change the
  pixels drop it) sits before the IDAT data and records, per segment, where it
  starts in the zlib stream and the Adler-32 of its inflated bytes.

``skPT`` payload (big-endian): version (1 byte, 1), rows per segment ``k``
(2 bytes), segment count ``n`` (4 bytes), then ``n`` times (offset into the
zlib stream, the IDAT payloads joined; Adler-32 of the segment's filtered
scanlines), 4 + 4 bytes. The segment checksums combine to the stream's own
Adler-32 trailer, so a reader can trust the index only when it agrees with
the data (:mod:`dalisr.formats.png_rows`).

``k`` = 16 by measurement on the sample set (see README, "Choosing a codec"):
values are within a few percent of OpenCV's level-1 PNG while a 128-row
window decodes about 136 rows instead of the ~300 of a decode from the top.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..errors import DalisrError
from .meta_info import PNG_SEEK
from .png import PNG_SIGNATURE

__all__ = ["PNG_SEEK", "encode_png_seek", "is_png_seek", "parse_index"]
#: the private chunk holding the restart index
CHUNK = b"skPT"
VERSION = 1
#: rows per restart segment
ROWS_PER_SEGMENT = 16
HEAD = struct.Struct(">BHI")
_COLOUR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (gray, RGB, RGBA)


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _filter_rows(x: np.ndarray, above: np.ndarray, bpp: int, restart: np.ndarray) -> np.ndarray:
    """Filtered scanlines (filter byte first) of rows ``x`` (int16, rows x stride) below row ``above``.

    Each row takes the filter with the smallest sum of absolute (signed)
    residuals, the heuristic libpng uses; rows where ``restart`` is set may
    only take None or Sub.
    """
    b = np.vstack([above[None], x[:-1]])
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]
    c = np.zeros_like(x)
    c[:, bpp:] = b[:, :-bpp]
    cands = np.stack([x, x - a, x - b, x - ((a + b) >> 1), x - _paeth(a, b, c)]) & 0xFF  # filter, row, byte
    cost = np.abs(cands.astype(np.uint8).view(np.int8).astype(np.int32)).sum(axis=2)
    cost[2:, restart] = np.iinfo(np.int32).max
    best = cost.argmin(axis=0)
    rows = cands[best, np.arange(len(x))].astype(np.uint8)
    return np.hstack([best.astype(np.uint8)[:, None], rows])


def encode_png_seek(img: np.ndarray, level: int = 1, rows_per_segment: int = ROWS_PER_SEGMENT) -> bytes:
    """``img`` (OpenCV layout: gray, BGR or BGRA, uint8 or uint16) as a seekable PNG of its bit depth with zlib
    ``level``."""
    if img.dtype not in (np.uint8, np.uint16):
        raise DalisrError(f"the {PNG_SEEK} codec stores 8- or 16-bit images; this one is {img.dtype} "
                          f"(shape {img.shape}). Fix: convert it to uint8 or uint16")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    channels = 1 if img.ndim == 2 else img.shape[2] if img.ndim == 3 else 0
    if channels not in _COLOUR_TYPE or img.shape[0] == 0 or img.shape[1] == 0:
        raise DalisrError(f"the {PNG_SEEK} codec stores gray, BGR or BGRA images, not shape {img.shape}")
    if not 0 <= level <= 9 or rows_per_segment < 1:
        raise DalisrError(f"{PNG_SEEK}: level must be 0..9 and rows per segment >= 1 (got {level}, {rows_per_segment})")
    h, w = img.shape[:2]
    depth = 8 * img.dtype.itemsize
    if channels >= 3:  # OpenCV's BGR(A) -> PNG's RGB(A)
        img = img[:, :, [2, 1, 0, 3][:channels]]
    bpp = channels * img.dtype.itemsize  # PNG filters work on bytes; 16-bit samples are stored big-endian
    rows = np.ascontiguousarray(img, img.dtype.newbyteorder(">")).view(np.uint8).reshape(h, w * bpp)
    rows = rows.astype(np.int16)
    k = rows_per_segment
    comp = zlib.compressobj(level, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY)
    out, offsets, adlers = [], [], []
    size = 0
    above = np.zeros(w * bpp, np.int16)
    block = max(1, 256 // k) * k  # filter a few segments at a time: bounded memory on large images
    for start in range(0, h, block):
        chunk = rows[start:start + block]
        restart = (np.arange(start, start + len(chunk)) % k) == 0
        filtered = _filter_rows(chunk, above, bpp, restart)
        above = chunk[-1]
        for seg in range(0, len(chunk), k):
            data = filtered[seg:seg + k].tobytes()
            offsets.append(2 if start + seg == 0 else size)
            adlers.append(zlib.adler32(data))
            piece = comp.compress(data)
            if start + seg + k < h:
                piece += comp.flush(zlib.Z_FULL_FLUSH)
            out.append(piece)
            size += len(piece)
    out.append(comp.flush())
    index = HEAD.pack(VERSION, k, len(offsets)) + np.array([offsets, adlers], ">u4").T.tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, depth, _COLOUR_TYPE[channels], 0, 0, 0)
    return b"".join([PNG_SIGNATURE, _chunk(b"IHDR", ihdr), _chunk(CHUNK, index), _chunk(b"IDAT", b"".join(out)),
                     _chunk(b"IEND", b"")])


def is_png_seek(buf: bytes | memoryview) -> bool:
    """Whether ``buf`` is a PNG written by :func:`encode_png_seek` (its index chunk right after IHDR)."""
    return bytes(buf[:8]) == PNG_SIGNATURE and bytes(buf[37:41]) == CHUNK


def parse_index(payload: bytes, height: int) -> tuple[int, np.ndarray, np.ndarray] | None:
    """(rows per segment, offsets, Adler-32s) of a ``skPT`` payload, or None if it is not one this version reads."""
    if len(payload) < HEAD.size:
        return None
    version, k, n = HEAD.unpack_from(payload)
    if version != VERSION or k == 0 or n != -(-height // k) or len(payload) != HEAD.size + 8 * n:
        return None
    table = np.frombuffer(payload, ">u4", 2 * n, HEAD.size).reshape(n, 2).astype(np.int64)
    return k, table[:, 0], table[:, 1]
