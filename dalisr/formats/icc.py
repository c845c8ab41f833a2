"""Embedded ICC colour profiles of PNG, JPEG and WebP values, and whether one describes sRGB.

traiNNer-redux reads images with libvips and converts every embedded profile
to sRGB (``icc_transform("srgb")``); OpenCV, BasicSR and DALI ignore them.
dalisr does not convert colours: under traiNNer-redux's semantics it takes a
value with no profile or an sRGB one (the conversion would change nothing
but rounding) and refuses any other, naming the file and the fix
(:func:`check_srgb`). Only headers are read: the chunks before a PNG's IDAT,
the segments before a JPEG's scan, a WebP's RIFF chunks.
"""

from __future__ import annotations

import struct
import zlib

from ..errors import DalisrError
from .png import PNG_SIGNATURE

_JPEG_ICC = b"ICC_PROFILE\x00"


def _png_profile(data: memoryview) -> bytes | None:
    at = 8
    while at + 8 <= len(data):
        length, tag = struct.unpack(">I4s", data[at:at + 8])
        if tag in (b"IDAT", b"IEND"):
            return None
        if tag == b"iCCP":
            body = bytes(data[at + 8:at + 8 + length])
            name_end = body.find(b"\x00")
            try:  # name, NUL, compression method (0: zlib), the compressed profile
                return zlib.decompress(body[name_end + 2:])
            except (zlib.error, ValueError):
                return b""  # a damaged profile: not sRGB
        at += 12 + length
    return None


def _jpeg_profile(data: memoryview) -> bytes | None:
    at, parts = 2, []
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xDA or marker == 0xD9:  # start of scan, end of image: no more headers
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        body = data[at + 4:at + 2 + length]
        if marker == 0xE2 and bytes(body[:12]) == _JPEG_ICC:  # APP2: sequence number, count, profile part
            parts.append((body[12], bytes(body[14:])))
        at += 2 + length
    return b"".join(p for _, p in sorted(parts)) if parts else None


def _webp_profile(data: memoryview) -> bytes | None:
    at = 12
    while at + 8 <= len(data):
        tag, length = bytes(data[at:at + 4]), struct.unpack("<I", data[at + 4:at + 8])[0]
        if tag == b"ICCP":
            return bytes(data[at + 8:at + 8 + length])
        if tag in (b"VP8 ", b"VP8L", b"ANIM"):  # the image data: profiles come before it
            return None
        at += 8 + length + (length & 1)
    return None


def embedded_profile(buf: bytes | memoryview) -> bytes | None:
    """The ICC profile a PNG, JPEG or WebP value embeds (b"" where it is damaged), else None."""
    data = memoryview(buf)
    if bytes(data[:8]) == PNG_SIGNATURE:
        return _png_profile(data)
    if bytes(data[:2]) == b"\xff\xd8":
        return _jpeg_profile(data)
    if bytes(data[:4]) == b"RIFF" and bytes(data[8:12]) == b"WEBP":
        return _webp_profile(data)
    return None


def profile_description(profile: bytes) -> str:
    """The profile's description tag (``desc``: ICC v2 text or v4 multi-localized Unicode), or ""."""
    try:
        (count,) = struct.unpack(">I", profile[128:132])
        for i in range(count):
            sig, offset, size = struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i])
            if sig != b"desc":
                continue
            tag = profile[offset:offset + size]
            if tag[:4] == b"desc":
                (n,) = struct.unpack(">I", tag[8:12])
                return tag[12:12 + n].split(b"\x00")[0].decode("latin-1")
            if tag[:4] == b"mluc":
                length, start = struct.unpack(">II", tag[20:28])
                return tag[start:start + length].decode("utf-16-be", "replace")
    except (struct.error, UnicodeDecodeError):
        pass
    return ""


def is_srgb(profile: bytes) -> bool:
    """Whether a profile describes sRGB (its description names it: "sRGB IEC61966-2.1", "sRGB built-in" ...)."""
    return "srgb" in profile_description(profile).lower()


def check_srgb(buf: bytes | memoryview, key: str, where: str) -> None:
    """DalisrError where a value embeds a colour profile other than sRGB (traiNNer-redux would convert its colours
    to sRGB, dalisr does not)."""
    profile = embedded_profile(buf)
    if profile is None or is_srgb(profile):
        return
    name = profile_description(profile) or "unnamed or damaged"
    raise DalisrError(f"key '{key}' in {where} embeds the colour profile '{name}', not sRGB: traiNNer-redux "
                      "converts such images to sRGB as it reads them, dalisr does not convert colours. Fix: "
                      "convert the file to sRGB once (e.g. `vips icc_transform IN OUT srgb`, or export it as "
                      "sRGB), then train")
