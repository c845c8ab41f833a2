"""16-bit values in png-seek (restart points, index checks) and through `dalisr convert`; 8-bit png-seek values
unchanged byte for byte; corrupt 16-bit PNGs fail as 8-bit ones do."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import cv2
import numpy as np
import pytest
import skimage.data
from click.testing import CliRunner
from PIL import Image

from dalisr import DalisrError
from dalisr.cli import main
from dalisr.formats.png_rows import read_parts
from dalisr.formats.png_seek import CHUNK, ROWS_PER_SEGMENT, encode_png_seek, is_png_seek, parse_index
from dalisr.prep.convert import convert_lmdb
from dalisr.prep.lmdb_writer import LmdbWriter
from dalisr.sources.window_decode import decode_png_window
from dalisr.storage import LmdbStore

from .png16_support import (
    _check_windows,
    _cv,
    _photo8,
    _photo16,
    _whole,
)


# -- png-seek --------------------------------------------------------------------------------------------------------
def _chunk_body(buf: bytes, tag: bytes) -> bytes:
    at = 8
    while buf[at + 4:at + 8] != tag:
        at += 12 + int.from_bytes(buf[at:at + 4], "big")
    return buf[at + 8:at + 8 + int.from_bytes(buf[at:at + 4], "big")]


def _with_chunk(buf: bytes, tag: bytes, body: bytes) -> bytes:
    old = _chunk_body(buf, tag)
    at = buf.index(tag + old) - 4
    new = struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
    return buf[:at] + new + buf[at + 12 + len(old):]


@pytest.mark.parametrize("c", [1, 3, 4])
def test_png_seek_16bit_values_are_standard_16bit_pngs(c):
    img = _photo16(70, 53, c)
    value = encode_png_seek(img)
    assert is_png_seek(value) and read_parts(value).bit_depth == 16
    assert read_parts(value).colour_type == {1: 0, 3: 2, 4: 6}[c]
    back = cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and np.array_equal(back, img)  # OpenCV's channel order in and out
    pil = Image.open(io.BytesIO(value))
    if c == 1:  # Pillow keeps 16-bit gray; its RGB(A) modes are 8-bit, so compare with OpenCV's own 16-bit PNG
        assert pil.mode in ("I;16", "I;16B", "I") and np.array_equal(np.asarray(pil), img)
    else:
        assert np.array_equal(np.asarray(pil), np.asarray(Image.open(io.BytesIO(_cv(img)))))
    k, offsets, _ = parse_index(_chunk_body(value, CHUNK), 70)
    assert k == ROWS_PER_SEGMENT and len(offsets) == 5
    scan = zlib.decompress(bytes(read_parts(value).stream))
    line = 53 * 2 * c + 1
    assert set(scan[::line]) >= {1, 2, 3, 4} and set(scan[::line * k]) <= {0, 1}  # restart rows read nothing above


@pytest.mark.parametrize("c", [1, 3, 4])
def test_png_seek_16bit_windows_decode_from_the_restart_above(c):
    img = _photo16(70, 53, c)
    value = encode_png_seek(img)
    ref = _whole(value)
    h, w = ref.shape[:2]
    for size in (1, 16, 23):
        for top in range(0, h - size + 1):
            for left in sorted({0, 1, (w - size) // 2, w - size}):
                win, decoded, path = decode_png_window(value, top, left, size, size, dtype=np.uint16)
                assert path == "seek" and win.dtype == np.uint16
                assert np.array_equal(win, ref[top:top + size, left:left + size]), (size, top, left)
                first = top // ROWS_PER_SEGMENT * ROWS_PER_SEGMENT
                assert decoded == (top + size - first) * (left + size) * 2 * c
    _check_windows(value, "seek")


def test_png_seek_16bit_index_that_does_not_fit_is_not_trusted():
    img = _photo16(80, 40, 3)
    value = encode_png_seek(img)
    body = _chunk_body(value, CHUNK)
    k, offsets, adlers = parse_index(body, 80)
    shifted, bad = offsets.copy(), adlers.copy()
    shifted[2] += 1
    bad[3] ^= 1
    other = _chunk_body(encode_png_seek(_photo16(80, 40, 1)), CHUNK)  # an 8-bit-sized index from another image
    ref = _whole(value)
    for index in (body[:7] + np.array([shifted, adlers], ">u4").T.tobytes(),
                  body[:7] + np.array([offsets, bad], ">u4").T.tobytes(), other, body[:-8]):
        forged = _with_chunk(value, CHUNK, index)
        for top in (0, 20, 33, 64):
            win, decoded, path = decode_png_window(forged, top, 5, 16, 16, dtype=np.uint16)
            assert path == "mismatch" and np.array_equal(win, ref[top:top + 16, 5:21])
            assert decoded == (top + 16) * 21 * 6


def test_corrupt_16bit_pngs_raise_like_8bit_ones():
    img = _photo16(120, 60, 3)
    for value in (_cv(img), encode_png_seek(img)):
        with pytest.raises(DalisrError, match="does not decode as an image.*truncated"):
            decode_png_window(value[:len(value) * 3 // 4], 0, 0, 16, 16, "k", "store", dtype=np.uint16)
        rotted = bytearray(value)
        rotted[len(value) - 30] ^= 1
        with pytest.raises(DalisrError, match="fails its CRC"):
            decode_png_window(bytes(rotted), 0, 0, 16, 16, "k", "store", dtype=np.uint16)
        body = bytearray(_chunk_body(value, b"IDAT"))
        body[int(len(body) * 0.9)] ^= 0x5A  # compressed data changed, CRC valid: OpenCV refuses it whole
        bad = _with_chunk(value, b"IDAT", bytes(body))
        assert cv2.imdecode(np.frombuffer(bad, np.uint8), cv2.IMREAD_UNCHANGED) is None
        with pytest.raises(DalisrError, match="does not decode as an image"):
            decode_png_window(bad, 104, 0, 16, 16, "k", "store", dtype=np.uint16)
        with pytest.raises(DalisrError, match="does not decode as an image"):
            decode_png_window(bad, 104, 0, 16, 16, "k", "store")  # uint8: OpenCV's whole decode fails too
    with pytest.raises(DalisrError, match="leaves the image"):
        decode_png_window(_cv(img), 110, 0, 16, 16, "k", "store", dtype=np.uint16)


#: digests of 8-bit png-seek values written before 16-bit support (IHDR, index checksums, filtered scanlines):
#: the zlib bytes depend on the zlib build, these do not
EIGHT_BIT_DIGESTS = {
    "astronaut bgr": "10e25d7cc50fb054e4f8e26a8f30741ac0b1b8fc8ef6d0abe36df04bc981e57e",
    "camera gray": "e39352f54f5b0f2a6d72003822bb99a813b89ca4c452af8181e0b6216e2ca6e0",
    "coffee bgra": "49a1037f8a8e7a670b03a96e815b496dfe7d17ea5f61e202612dd14ef6c4a800",
}


def _eight_bit_images():
    alpha = (np.arange(60 * 70).reshape(60, 70) % 251).astype(np.uint8)
    return {"astronaut bgr": skimage.data.astronaut()[:100, :90, ::-1],
            "camera gray": skimage.data.camera()[:97, :83],
            "coffee bgra": np.dstack([skimage.data.coffee()[:60, :70, ::-1], alpha])}


def _seek_digest(value: bytes) -> str:
    _, _, adlers = parse_index(_chunk_body(value, CHUNK), int.from_bytes(value[20:24], "big"))
    data = _chunk_body(value, b"IHDR") + adlers.astype(">u4").tobytes() + zlib.decompress(_chunk_body(value, b"IDAT"))
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", list(EIGHT_BIT_DIGESTS))
def test_8bit_png_seek_values_are_unchanged(name):
    img = _eight_bit_images()[name]
    value = encode_png_seek(img)
    assert _seek_digest(value) == EIGHT_BIT_DIGESTS[name]
    assert read_parts(value).bit_depth == 8
    assert np.array_equal(cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED), img)


# -- convert ---------------------------------------------------------------------------------------------------------
def test_convert_keeps_16bit_values_16bit(tmp_path):
    images = {"a16": _photo16(64, 48, 3), "b16": _photo16(40, 36, 1), "c16": _photo16(33, 35, 4),
              "d8": _photo8(50, 44, 3)}
    src = tmp_path / "src.lmdb"
    with LmdbWriter(src) as writer:
        for key, img in images.items():
            shape = img.shape if img.ndim == 3 else img.shape + (1,)
            writer.put(key, _cv(img, ".png", cv2.IMWRITE_PNG_COMPRESSION, 3), f"{key}.png", shape, 3)
    seek, back = tmp_path / "seek.lmdb", tmp_path / "back.lmdb"
    convert_lmdb(src, seek, "png-seek")
    result = CliRunner().invoke(main, ["convert", str(seek), str(back), "--codec", "png", "--level", "1"])
    assert result.exit_code == 0, result.output
    for path, via in ((seek, "seek"), (back, "rows")):
        store = LmdbStore(str(path))
        for key, img in images.items():
            value = store.get(key)
            assert read_parts(value).bit_depth == 8 * img.dtype.itemsize
            assert np.array_equal(cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED), img)
            win, _, got = decode_png_window(value, 20, 3, 13, 17, key, "store", dtype=np.uint16)
            assert got == via and np.array_equal(win, _whole(value)[20:33, 3:20])
    cli = tmp_path / "cli.lmdb"
    result = CliRunner().invoke(main, ["convert", str(src), str(cli), "--codec", "png-seek"])
    assert result.exit_code == 0, result.output
    assert read_parts(LmdbStore(str(cli)).get("a16")).bit_depth == 16
