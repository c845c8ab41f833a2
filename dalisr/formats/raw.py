"""The zero-decode ``raw`` codec: decoded HWC uint8 pixels behind a small header.

A raw value is ``HEADER`` (24 bytes) followed by the pixels exactly as
``cv2.imread(path, cv2.IMREAD_UNCHANGED)`` returns them for an 8-bit image:
BGR (or gray, or BGRA), row-major, ``h * w * c`` bytes. Readers slice a crop
window straight out of the memory-mapped value; nothing is decoded.

The magic starts with byte ``0x8F`` and names no image format, so
``cv2.imdecode`` (BasicSR's ``imfrombytes``) returns ``None`` for a raw value
and BasicSR's loader stops at once instead of training on garbage. The LMDB's
``meta_info.txt`` says ``raw`` where BasicSR writes the PNG level, so no reader
has to guess the codec (see :mod:`dalisr.formats.meta_info`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import DalisrError

MAGIC = b"\x8fDALISR\n"
VERSION = 1
_UINT8 = 1  # dtype code; the only one written today
# magic, version, dtype code, channels, height, width, 4 reserved bytes (pixels start 8-byte aligned)
HEADER = struct.Struct("<8sBBHII4x")
HEADER_SIZE = HEADER.size


@dataclass(frozen=True)
class RawHeader:
    height: int
    width: int
    channels: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    @property
    def nbytes(self) -> int:
        return self.height * self.width * self.channels


def is_raw(buf: bytes | memoryview) -> bool:
    return bytes(buf[:len(MAGIC)]) == MAGIC


def encode_raw(img: np.ndarray) -> bytes:
    """``img`` (H x W or H x W x C uint8, C in 1..4, as OpenCV gives it) as a raw value."""
    if img.dtype != np.uint8:
        raise DalisrError(f"the raw codec stores 8-bit images; this one is {img.dtype} (shape {img.shape}). "
                          "Fix: keep this data as PNG (--codec png)")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or not 1 <= img.shape[2] <= 4 or img.shape[0] == 0 or img.shape[1] == 0:
        raise DalisrError(f"the raw codec stores H x W x C images with 1 to 4 channels, not shape {img.shape}")
    h, w, c = img.shape
    return HEADER.pack(MAGIC, VERSION, _UINT8, c, h, w) + np.ascontiguousarray(img).tobytes()


def read_raw_header(buf: bytes | memoryview) -> RawHeader | None:
    """The header of a raw value, or None if ``buf`` does not start like one."""
    if len(buf) < HEADER_SIZE or not is_raw(buf):
        return None
    _, version, dtype, c, h, w = HEADER.unpack(bytes(buf[:HEADER_SIZE]))
    if version != VERSION or dtype != _UINT8 or not 1 <= c <= 4:
        return None
    return RawHeader(h, w, c)


def raw_pixels(buf: bytes | memoryview, key: str = "?", where: str = "?") -> np.ndarray:
    """A zero-copy H x W x C uint8 view of a raw value's pixels (valid while ``buf`` is).

    DalisrError (naming key and store) if the value is not raw or its length
    does not match its header (a truncated write).
    """
    head = read_raw_header(buf)
    if head is None:
        raise DalisrError(f"key '{key}' in {where} is not a raw pixel value (no {MAGIC!r} header). "
                          "Fix: check meta_info.txt's codec, or re-create it with `dalisr convert`")
    if len(buf) != HEADER_SIZE + head.nbytes:
        raise DalisrError(f"key '{key}' in {where} is truncated or corrupt: {len(buf)} bytes, its header "
                          f"{head.shape} needs {HEADER_SIZE + head.nbytes}. Fix: re-create it with `dalisr convert`")
    return np.frombuffer(buf, np.uint8, head.nbytes, HEADER_SIZE).reshape(head.shape)


def decode_raw(buf: bytes | memoryview, key: str = "?", where: str = "?") -> np.ndarray:
    """The pixels of a raw value as a new array (H x W x C, or H x W for one channel, as OpenCV)."""
    img = raw_pixels(buf, key, where).copy()
    return img[:, :, 0] if img.shape[2] == 1 else img


def as_color(view: np.ndarray) -> np.ndarray:
    """``cv2.IMREAD_COLOR``'s channels of stored pixels, as a view: gray expanded to 3, alpha dropped (BGR)."""
    c = view.shape[2]
    if c == 3:
        return view
    if c == 1:
        return np.broadcast_to(view, (*view.shape[:2], 3))
    if c == 4:
        return view[:, :, :3]
    # two channels (gray + alpha): OpenCV keeps the gray
    return np.broadcast_to(view[:, :, :1], (*view.shape[:2], 3))
