"""Encoding and decoding image bytes exactly as BasicSR does (OpenCV, BGR)."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import DalisrError

DEFAULT_PNG_LEVEL = 1


def encode_png(img: np.ndarray, level: int = DEFAULT_PNG_LEVEL) -> bytes:
    """``cv2.imencode('.png', img, [IMWRITE_PNG_COMPRESSION, level])`` bytes (BGR or gray)."""
    if not 0 <= level <= 9:
        raise DalisrError(f"PNG compression level must be 0..9, got {level}")
    ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, int(level)])
    if not ok:
        raise DalisrError(f"OpenCV could not encode an image of shape {img.shape} as PNG")
    return buf.tobytes()


def decode_image(buf: bytes, key: str = "?", where: str = "?", flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """``cv2.imdecode(buf, flags)``: by default 3-channel BGR uint8, as BasicSR's imfrombytes."""
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), flags)
    if img is None:
        raise DalisrError(f"key '{key}' in {where} does not decode as an image ({len(buf)} bytes). "
                          "Fix: re-create it from the source image")
    return img


def image_shape(img: np.ndarray) -> tuple[int, int, int]:
    """(h, w, c) as BasicSR's meta info records it (gray images have c = 1)."""
    if img.ndim == 2:
        return (img.shape[0], img.shape[1], 1)
    return (img.shape[0], img.shape[1], img.shape[2])


def encode_value(img: np.ndarray, codec: str, level: int = DEFAULT_PNG_LEVEL) -> tuple[bytes, int | str]:
    """``img`` as an LMDB value in ``codec`` (``png`` at ``level``, ``raw``, ``jp2``, ``png-seek``) and its meta
    info level (``png-seek`` values use zlib ``level`` too)."""
    from .jp2 import encode_jp2
    from .meta_info import JP2, PNG_SEEK, RAW
    from .png_seek import encode_png_seek
    from .raw import encode_raw

    if codec == PNG_SEEK:
        return encode_png_seek(img, level), PNG_SEEK
    if codec == RAW:
        return encode_raw(img), RAW
    if codec == JP2:
        return encode_jp2(img), JP2
    return encode_png(img, level), level


def header_shape(buf: bytes | memoryview) -> tuple[int, int, int] | None:
    """(h, w, c) from a PNG or JPEG 2000 header without decoding, or None for other bytes."""
    from .jp2 import read_jp2_shape
    from .png import read_png_header

    png = read_png_header(buf)
    return png.shape if png is not None else read_jp2_shape(buf)


def shape_if_dali_decodes_as_opencv(buf: bytes | memoryview) -> tuple[int, int] | None:
    """(h, w) as decoded, where DALI's decoders give ``cv2.imdecode(buf, IMREAD_COLOR)``'s pixels; else None.

    Checked (tests/test_bicubic_from_gt_stores.py): 8-bit PNGs of every colour type, and 8-bit JPEGs with
    one or three components (baseline, progressive, any chroma subsampling, any EXIF orientation). Not so:
    CMYK/YCCK JPEGs and 16-bit PNGs (values 1 level off), GIF (DALI refuses it); other formats are not relied on.
    """
    from .jpeg import read_jpeg_header
    from .png import read_png_header

    png = read_png_header(buf)
    if png is not None:
        return (png.height, png.width) if png.bit_depth == 8 else None
    jpeg = read_jpeg_header(buf)
    if jpeg is not None and jpeg.precision == 8 and jpeg.components in (1, 3):
        return (jpeg.height, jpeg.width)
    return None
