"""16-bit windows (dtype=np.uint16): 16-bit PNGs kept 16-bit through the row decoder; 8-bit values widened;
values outside the row decoder decoded whole keeping their depth.

The reference everywhere is the whole decode, ``cv2.imdecode(IMREAD_UNCHANGED)`` as RGB (gray expanded, alpha
dropped, 8-bit values times 257), cut at the same place.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from dalisr import DalisrError
from dalisr.formats.png_rows import read_parts
from dalisr.formats.png_seek import encode_png_seek
from dalisr.sources.window_decode import decode_png_window, decoded_shape

from .png16_support import (
    RNG,
    _check_windows,
    _cv,
    _filter_types,
    _photo8,
    _photo16,
    _pil,
    _png,
    _positions,
    _whole,
)

# -- 16-bit PNGs in the row decoder ---------------------------------------------------------------------------------
ROWS16 = {  # name: (PNG bytes, bytes per pixel)
    "rgb opencv level 1": lambda: (_cv(_photo16(150, 140, 3), ".png", cv2.IMWRITE_PNG_COMPRESSION, 1), 6),
    "rgb opencv level 9": lambda: (_cv(_photo16(40, 52, 3), ".png", cv2.IMWRITE_PNG_COMPRESSION, 9), 6),
    "rgb opencv level 0": lambda: (_cv(_photo16(23, 30, 3), ".png", cv2.IMWRITE_PNG_COMPRESSION, 0), 6),
    "rgb opencv smooth": lambda: (_cv(_photo16(50, 50, 3, noise=False)), 6),
    "rgba opencv": lambda: (_cv(_photo16(37, 45, 4)), 8),
    "gray opencv": lambda: (_cv(_photo16(44, 39, 1)), 2),
    "gray pillow": lambda: (_pil(_photo16(35, 42, 1), None), 2),  # Pillow's mode I;16
    "rgb noise": lambda: (_cv(RNG.integers(0, 65536, (33, 29, 3), np.uint16)), 6),
    "gray+alpha every filter": lambda: (_png(_photo16(30, 33, 2), 4), 4),
    "rgb every filter": lambda: (_png(_photo16(31, 27, 3), 2), 6),
    "rgba every filter": lambda: (_png(_photo16(26, 25, 4), 6), 8),
    "gray every filter": lambda: (_png(_photo16(27, 31, 1), 0), 2),
    **{f"rgb opencv filter {f}": (lambda f=f: (_cv(_photo16(30, 40, 3), ".png", cv2.IMWRITE_PNG_FILTER,
                                                  getattr(cv2, f"IMWRITE_PNG_FILTER_{f}")), 6))
       for f in ("NONE", "SUB", "UP", "AVG", "PAETH")},
}


@pytest.mark.parametrize("name", list(ROWS16))
def test_16bit_windows_equal_the_whole_decode(name):
    buf, bpp = ROWS16[name]()
    assert read_parts(buf).bit_depth == 16
    ref = _check_windows(buf, "rows", bpp)
    assert np.any((ref & 0xFF) != (ref >> 8))
    if "every filter" in name:
        assert _filter_types(buf, bpp) == {0, 1, 2, 3, 4}
    if name == "rgb opencv level 1":  # OpenCV's (libpng's) choice per row, as BasicSR's values have it
        assert _filter_types(buf, bpp) >= {1, 2, 3, 4}
    if "filter" in name and "every" not in name:  # OpenCV honours the one filter asked for (the first row: Up -> None)
        assert _filter_types(buf, bpp) - {0} <= {["NONE", "SUB", "UP", "AVG", "PAETH"].index(name.split()[-1])}


# -- 8-bit values, and values outside the row decoder ----------------------------------------------------------------
EIGHT = {  # 8-bit values the row decoder takes: uint16 windows are the uint8 ones times 257
    "bgr": lambda: _cv(_photo8(41, 37, 3)),
    "gray": lambda: _cv(_photo8(30, 33, 1)),
    "bgra": lambda: _cv(_photo8(25, 28, 4)),
    "gray+alpha pillow": lambda: _pil(_photo8(29, 31, 2), "LA"),
    "rgb every filter": lambda: _png(_photo8(27, 22, 3), 2),
    "png-seek": lambda: encode_png_seek(_photo8(45, 40, 3)),
}


@pytest.mark.parametrize("name", list(EIGHT))
def test_8bit_values_as_uint16_are_the_8bit_values_times_257(name):
    buf = EIGHT[name]()
    path = "seek" if name == "png-seek" else "rows"
    ref = _check_windows(buf, path, read_parts(buf).channels)
    assert np.array_equal(ref, _whole(buf, cv2.IMREAD_COLOR))
    for top, left, wh, ww in _positions(*ref.shape[:2]):
        wide, _, p16 = decode_png_window(buf, top, left, wh, ww, dtype=np.uint16)
        narrow, _, p8 = decode_png_window(buf, top, left, wh, ww)
        assert p16 == p8 == path and narrow.dtype == np.uint8
        assert np.array_equal(wide, narrow.astype(np.uint16) * 257)


def _trns16(rgb):
    colour = rgb[3, 4]
    return _png(rgb, 2, chunks=[(b"tRNS", colour.astype(">u2").tobytes())])


WHOLE = {  # name: (value, whether its samples are 16-bit)
    "palette": lambda: (_palette(_photo8(40, 45, 3)), False),
    "palette with transparency": lambda: (_palette(_photo8(30, 35, 3), transparency=5), False),
    "interlaced 16-bit rgb": lambda: (_png(_photo16(37, 29, 3), 2, interlace=True), True),
    "interlaced 16-bit gray+alpha": lambda: (_png(_photo16(21, 19, 2), 4, interlace=True), True),
    "interlaced 8-bit rgb": lambda: (_png(_photo8(26, 31, 3), 2, interlace=True), False),
    "16-bit rgb with tRNS": lambda: (_trns16(_photo16(24, 27, 3)), True),
    "16-bit tiff": lambda: (_cv(_photo16(33, 41, 3), ".tiff"), True),
    "jpeg": lambda: (_cv(_photo8(48, 40, 3), ".jpg"), False),
    "jpeg gray": lambda: (_cv(_photo8(32, 40, 1), ".jpg"), False),
    "webp": lambda: (_cv(_photo8(36, 44, 3), ".webp"), False),
    "webp with alpha": lambda: (_cv(_photo8(36, 44, 4), ".webp", cv2.IMWRITE_WEBP_QUALITY, 101), False),
}


def _palette(img, transparency=None):
    buf = io.BytesIO()
    kw = {} if transparency is None else {"transparency": transparency}
    Image.fromarray(img, "RGB").quantize(64).save(buf, "PNG", **kw)
    return buf.getvalue()


@pytest.mark.parametrize("name", list(WHOLE))
def test_values_outside_the_row_decoder_are_decoded_whole_keeping_their_depth(name):
    buf, sixteen = WHOLE[name]()
    parts = read_parts(buf)
    assert parts is None or parts.channels is None  # really outside the row decoder
    if "interlaced" in name:
        assert parts.interlace == 1  # Pillow does not write Adam7 (it always writes interlace 0): made here
    ref = _check_windows(buf, "whole")
    assert np.any((ref & 0xFF) != (ref >> 8)) == sixteen
    if not sixteen:  # 8-bit: the uint8 window (BasicSR's) times 257
        narrow = decode_png_window(buf, 3, 2, 9, 11)[0]
        assert np.array_equal(decode_png_window(buf, 3, 2, 9, 11, dtype=np.uint16)[0], narrow.astype(np.uint16) * 257)
    assert decoded_shape(buf, "k", "here") == ref.shape[:2]


def test_exif_orientation_gives_both_dtypes_the_same_geometry():
    """A JPEG with EXIF orientation 6 (rotated): uint16 windows are the uint8 (IMREAD_COLOR) windows times 257."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = _pil(_photo8(40, 64, 3)[:, :, ::-1].copy(), "RGB", "JPEG", exif=exif, quality=95)
    assert decoded_shape(buf, "k", "here") == (64, 40)
    narrow = decode_png_window(buf, 50, 30, 14, 10)[0]
    wide, _, path = decode_png_window(buf, 50, 30, 14, 10, dtype=np.uint16)
    assert path == "whole" and np.array_equal(wide, narrow.astype(np.uint16) * 257)


def test_uint8_callers_get_imread_color_for_16bit_pngs():
    img = _photo16(45, 38, 3)
    for value in (_cv(img), encode_png_seek(img), _cv(_photo16(30, 31, 1)), _png(_photo16(20, 22, 2), 4)):
        expected = cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
        assert expected.dtype == np.uint8
        for top, left, wh, ww in _positions(*expected.shape[:2]):
            win, decoded, path = decode_png_window(value, top, left, wh, ww)
            assert path == "whole" and win.dtype == np.uint8 and decoded == expected.nbytes
            assert np.array_equal(win, expected[top:top + wh, left:left + ww])
        assert decoded_shape(value, "k", "here") == expected.shape[:2]
    with pytest.raises(DalisrError, match="uint8 or uint16"):
        decode_png_window(_cv(img), 0, 0, 4, 4, dtype=np.float32)


