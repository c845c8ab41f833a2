"""The ``jp2`` codec: lossless JPEG 2000 values, which DALI decodes on the GPU (nvJPEG2000).

PNG is always decoded on the CPU, even under DALI's ``mixed`` decoder; a
lossless JPEG 2000 value decodes to the same pixels and can be decoded by
the GPU instead, which frees the CPU cores on a GPU machine. It is slower
than PNG to decode on a CPU, so it pays only where a GPU decodes it
(BENCHMARKS.md). BasicSR's ``cv2.imdecode`` reads these values too, so a
``jp2`` LMDB stays readable by BasicSR; its meta info names the codec
(level field ``jp2``), so dalisr never guesses.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import DalisrError

#: the JP2 signature box (ISO/IEC 15444-1, I.5.1)
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
#: how far into a value the header box is looked for
_HEADER_SPAN = 512
#: OpenCV's encoder uses 6 resolution levels, which need 2**5 pixels on each side
MIN_SIDE = 32


def encode_jp2(img: np.ndarray) -> bytes:
    """Lossless (reversible 5/3 wavelet) JPEG 2000 bytes of an 8-bit BGR, BGRA or gray image."""
    import cv2

    if img.dtype != np.uint8:
        raise DalisrError(f"the jp2 codec stores 8-bit images; this one is {img.dtype} (shape {img.shape}). "
                          "Fix: keep this data as PNG (--codec png)")
    if min(img.shape[:2]) < MIN_SIDE:
        raise DalisrError(f"the jp2 codec stores images of at least {MIN_SIDE} x {MIN_SIDE} pixels; this one is "
                          f"{img.shape[0]} x {img.shape[1]}. Fix: keep this data as PNG (--codec png)")
    # a compression of 1000 (x1000) is OpenCV's lossless setting; anything lower is lossy
    ok, buf = cv2.imencode(".jp2", img, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 1000])
    if not ok:
        raise DalisrError(f"OpenCV could not encode an image of shape {img.shape} as JPEG 2000")
    return buf.tobytes()


def is_jp2(buf: bytes | memoryview) -> bool:
    return bytes(buf[:12]) == JP2_SIGNATURE


def _boxes(buf: bytes, start: int, end: int):
    """(type, payload start, payload end) of the boxes in ``buf[start:end]``."""
    at = start
    while at + 8 <= end:
        length, kind = struct.unpack(">I4s", buf[at:at + 8])
        head = 8
        if length == 1:  # a 64-bit length follows
            if at + 16 > end:
                return
            length = struct.unpack(">Q", buf[at + 8:at + 16])[0]
            head = 16
        elif length == 0:  # the box runs to the end
            length = end - at
        if length < head:
            return
        yield kind, at + head, min(at + length, end)
        at += length


def read_jp2_shape(buf: bytes | memoryview) -> tuple[int, int, int] | None:
    """(h, w, c) from a JP2 file's image header box (``jp2h/ihdr``), or None if ``buf`` is not one.

    Reads a few hundred bytes, no pixels: cheap enough for every sample.
    """
    if not is_jp2(buf):
        return None
    head = bytes(buf[:_HEADER_SPAN])
    for kind, start, end in _boxes(head, 0, len(head)):
        if kind != b"jp2h":
            continue
        for inner, at, stop in _boxes(head, start, end):
            if inner == b"ihdr" and stop - at >= 10:
                height, width, channels = struct.unpack(">IIH", head[at:at + 10])
                if height and width and channels:
                    return (height, width, channels)
        return None
    return None
