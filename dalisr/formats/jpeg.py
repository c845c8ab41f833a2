"""Read a JPEG's size as decoders show it (EXIF orientation applied), its channels and precision, from its header.

``cv2.imdecode`` and DALI's decoders both turn an image whose EXIF
orientation is 5-8 by a quarter, so the (height, width) a window is chosen
in is the oriented one. Only the markers before the first scan are looked
at: cheap enough for every sample.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RSTn, SOI: no length field
_ORIENTATION_TAG = 0x0112
_TRANSPOSED = frozenset({5, 6, 7, 8})  # orientations that swap height and width


@dataclass(frozen=True)
class JpegHeader:
    height: int  # as decoded: after the EXIF orientation
    width: int
    components: int  # 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK
    precision: int  # bits per sample
    orientation: int = 1

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.components)


def is_jpeg(buf: bytes | memoryview) -> bool:
    return bytes(buf[:3]) == b"\xff\xd8\xff"


def exif_orientation(tiff: bytes | memoryview) -> int:
    """The Orientation tag (1-8) of an EXIF block's TIFF structure, 1 where absent or malformed."""
    data = bytes(tiff)
    if len(data) < 8 or data[:2] not in (b"II", b"MM"):
        return 1
    order = "<" if data[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, ifd)
        for i in range(count):
            tag, kind, _, value = struct.unpack_from(order + "HHI4s", data, ifd + 2 + 12 * i)
            if tag == _ORIENTATION_TAG and kind == 3:  # SHORT, held in the first two bytes of the value
                (orientation,) = struct.unpack_from(order + "H", value)
                return orientation if 1 <= orientation <= 8 else 1
    except struct.error:
        return 1
    return 1


def read_jpeg_header(buf: bytes | memoryview) -> JpegHeader | None:
    """The frame header of a JPEG (size oriented as decoders show it), or None where ``buf`` is no readable JPEG
    start (or its frame header gives no height, which a DNL marker would set later)."""
    data = memoryview(buf)
    if not is_jpeg(data):
        return None
    at, end, orientation = 2, len(data), 1
    while at + 4 <= end:
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        (length,) = struct.unpack_from(">H", data, at + 2)
        body = data[at + 4:at + 2 + length]
        if marker == 0xE1 and bytes(body[:6]) == b"Exif\x00\x00":
            orientation = exif_orientation(body[6:])
        elif marker in _SOF:
            if len(body) < 6:
                return None
            precision, height, width, components = struct.unpack_from(">BHHB", body)
            if height == 0 or width == 0:
                return None
            if orientation in _TRANSPOSED:
                height, width = width, height
            return JpegHeader(height, width, components, precision, orientation)
        elif marker == 0xDA:  # a scan before any frame header
            return None
        at += 2 + length
    return None
