"""Read an image's size from its PNG header, without decoding the pixels."""

from __future__ import annotations

import struct
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# channels as cv2.imread(IMREAD_UNCHANGED) returns them, per PNG colour type
_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 4, 6: 4}


@dataclass(frozen=True)
class PngHeader:
    height: int
    width: int
    channels: int
    bit_depth: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)


def is_png(buf: bytes | memoryview) -> bool:
    return bytes(buf[:8]) == PNG_SIGNATURE


def read_png_header(buf: bytes | memoryview) -> PngHeader | None:
    """The IHDR fields of a PNG, or None if ``buf`` is not a well-formed PNG start.

    Only the first 33 bytes are looked at, so this is cheap enough to run on
    every sample before it is decoded.
    """
    if len(buf) < 33 or not is_png(buf):
        return None
    length, tag = struct.unpack(">I4s", bytes(buf[8:16]))
    if tag != b"IHDR" or length != 13:
        return None
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", bytes(buf[16:26]))
    if colour_type not in _CHANNELS or width == 0 or height == 0:
        return None
    return PngHeader(height, width, _CHANNELS[colour_type], bit_depth)


def png_intact(buf: bytes | memoryview) -> bool:
    """True if every chunk's CRC matches and the stream ends with IEND.

    Catches truncated and corrupted files without inflating the pixels, at a
    small fraction of the cost of decoding them.
    """
    from .inflate import crc32

    data = memoryview(buf)
    if not is_png(data):
        return False
    at, end = 8, len(data)
    while at + 12 <= end:
        length = int.from_bytes(data[at:at + 4], "big")
        body_end = at + 8 + length
        if body_end + 4 > end:
            return False
        crc = int.from_bytes(data[body_end:body_end + 4], "big")
        if crc32(data[at + 4:body_end]) != crc:
            return False
        if bytes(data[at + 4:at + 8]) == b"IEND":
            return True
        at = body_end + 4
    return False
