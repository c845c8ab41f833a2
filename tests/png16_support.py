"""Helpers of the 16-bit window tests: 16-bit images, PNG bytes written in the test (any filter, Adam7, extra
chunks), the whole decode they are checked against."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import skimage.data
from PIL import Image

from dalisr.formats.png_rows import read_parts
from dalisr.sources.window_decode import decode_png_window

RNG = np.random.default_rng(16)
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
def _photo16(h, w, c, noise=True):
    """A photo (scikit-image's coffee, camera) made 16-bit: smoothed, times 257, plus noise in the low bits."""
    src = skimage.data.camera()[:h, :w, None] if c in (1, 2) else skimage.data.coffee()[:h, :w, ::-1]
    img = cv2.GaussianBlur(src.astype(np.float32), (0, 0), 0.8).reshape(h, w, -1) * 257
    if noise:
        img += RNG.normal(0, 40, img.shape)
    img = np.clip(np.rint(img), 0, 65535).astype(np.uint16)
    if c in (2, 4):
        img = np.dstack([img, RNG.integers(0, 65536, (h, w), np.uint16)])
    assert np.any((img & 0xFF) != (img >> 8))  # real 16-bit values: a decoder that drops a byte fails
    return img[:, :, 0] if c == 1 else img


def _png(samples, colour_type, filters=None, interlace=False, chunks=(), level=6):
    """A PNG written here: ``samples`` (h x w x c, uint8/uint16, PNG channel order), row ``r`` filtered with
    ``filters(r)`` (default: r % 5, every filter type), optionally Adam7-interlaced, extra chunks before IDAT."""
    samples = samples.reshape(samples.shape[0], samples.shape[1], -1)
    depth, c = 8 * samples.dtype.itemsize, samples.shape[2]
    bpp = c * samples.dtype.itemsize
    passes = [samples[y::dy, x::dx] for x, y, dx, dy in ADAM7] if interlace else [samples]
    data = b"".join(_filtered(p, bpp, filters or (lambda r: r % 5)) for p in passes if p.size)
    ihdr = struct.pack(">IIBBBBB", samples.shape[1], samples.shape[0], depth, colour_type, 0, 0, int(interlace))
    parts = [(b"IHDR", ihdr), *chunks, (b"IDAT", zlib.compress(data, level)), (b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(struct.pack(">I", len(body)) + tag + body
                                           + struct.pack(">I", zlib.crc32(tag + body)) for tag, body in parts)


def _filtered(samples, bpp, filters) -> bytes:
    h, w = samples.shape[:2]
    x = np.ascontiguousarray(samples, samples.dtype.newbyteorder(">")).view(np.uint8).reshape(h, -1).astype(int)
    b = np.vstack([np.zeros_like(x[:1]), x[:-1]])
    a, c = np.zeros_like(x), np.zeros_like(x)
    a[:, bpp:], c[:, bpp:] = x[:, :-bpp], b[:, :-bpp]
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    preds = [np.zeros_like(x), a, b, (a + b) >> 1, paeth]
    return b"".join(bytes([filters(r)]) + ((x[r] - preds[filters(r)][r]) & 0xFF).astype(np.uint8).tobytes()
                    for r in range(h))


def _cv(img, ext=".png", *params):
    return cv2.imencode(ext, img, list(params))[1].tobytes()


def _pil(img, mode, fmt="PNG", **kw):
    buf = io.BytesIO()
    (Image.fromarray(img) if mode is None else Image.fromarray(img, mode)).save(buf, fmt, **kw)
    return buf.getvalue()


def _whole(buf, flags=cv2.IMREAD_UNCHANGED):
    """The reference: the whole decode as uint16 RGB."""
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), flags)
    img = img.reshape(img.shape[0], img.shape[1], -1)
    rgb = np.repeat(img[:, :, :1], 3, axis=2) if img.shape[2] < 3 else img[:, :, 2::-1]
    return rgb.astype(np.uint16) * (257 if img.dtype == np.uint8 else 1)


def _positions(h, w):
    for size in (1, 5, 16):
        for top in sorted({t for t in (0, 1, h // 3, h - size - 1, h - size) if 0 <= t <= h - size}):
            for left in sorted({v for v in (0, 1, w // 2, w - size - 1, w - size) if 0 <= v <= w - size}):
                yield top, left, size, size
    yield 0, 0, h, w


def _check_windows(buf, path, bpp=None, ref=None):
    ref = _whole(buf) if ref is None else ref
    h, w = ref.shape[:2]
    for top, left, wh, ww in _positions(h, w):
        win, decoded, got = decode_png_window(buf, top, left, wh, ww, "k", "here", dtype=np.uint16)
        assert got == path and win.dtype == np.uint16 and win.flags.c_contiguous
        assert np.array_equal(win, ref[top:top + wh, left:left + ww]), (top, left, wh, ww)
        if path == "rows":  # only the rows down to the window and the bytes left of its right edge
            assert decoded == (top + wh) * (left + ww) * bpp
    return ref


def _filter_types(buf, bpp):
    parts = read_parts(buf)
    return set(zlib.decompress(bytes(parts.stream))[::parts.width * bpp + 1])


def _photo8(h, w, c):
    return (_photo16(h, w, c) >> 8).astype(np.uint8)
