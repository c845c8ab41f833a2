"""The png-seek codec and dalisr's PNG row decoder: standard PNGs, bit-exact windows, an index never trusted blindly."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib

import cv2
import lmdb
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from dalisr import DalisrError, build_dataloader
from dalisr.cli import main
from dalisr.formats.codec import encode_png, encode_value
from dalisr.formats.png import png_intact
from dalisr.formats.png_rows import read_parts, row_decoder_built
from dalisr.formats.png_seek import CHUNK, ROWS_PER_SEGMENT, encode_png_seek, is_png_seek, parse_index
from dalisr.prep.convert import convert_lmdb
from dalisr.prep.sample_images import load_photo
from dalisr.sources.window_decode import decode_png_window
from dalisr.storage import LmdbStore

RNG = np.random.default_rng(15)


def _photo(h, w, c):
    photo = load_photo("astronaut")[:h, :w]
    return photo if c == 3 else cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY) if c == 1 else \
        np.dstack([photo, RNG.integers(0, 256, (h, w), np.uint8)])


IMAGES = {
    "photo 97x83": lambda: _photo(97, 83, 3),
    "photo 200x131": lambda: _photo(200, 131, 3),
    "noise 61x45": lambda: RNG.integers(0, 256, (61, 45, 3), np.uint8),
    "gray 53x77": lambda: _photo(53, 77, 1),
    "rgba 41x39": lambda: _photo(41, 39, 4),
    "one segment 9x30": lambda: _photo(9, 30, 3),
    "exact segments 32x17": lambda: _photo(2 * ROWS_PER_SEGMENT, 17, 3),
}


def _decode(buf, flags=cv2.IMREAD_UNCHANGED):
    return cv2.imdecode(np.frombuffer(buf, np.uint8), flags)


def _with_chunk(buf: bytes, tag: bytes, body: bytes) -> bytes:
    """``buf`` with the body of its first ``tag`` chunk replaced (CRC recomputed: the chunk is well-formed)."""
    at = 8
    while True:
        length = int.from_bytes(buf[at:at + 4], "big")
        if buf[at + 4:at + 8] == tag:
            new = struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
            return buf[:at] + new + buf[at + 12 + length:]
        at += 12 + length


def _chunk_body(buf: bytes, tag: bytes) -> bytes:
    at = 8
    while True:
        length = int.from_bytes(buf[at:at + 4], "big")
        if buf[at + 4:at + 8] == tag:
            return buf[at + 8:at + 8 + length]
        at += 12 + length


def test_the_row_decoder_is_built():
    assert row_decoder_built(), "dalisr._ext.pngrows is missing: run tools/setup.sh (pip install -e .)"


@pytest.mark.parametrize("name", list(IMAGES))
def test_values_are_standard_pngs_with_the_pixels_of_level_1(name):
    img = IMAGES[name]()
    value = encode_png_seek(img)
    assert png_intact(value) and is_png_seek(value)
    assert np.array_equal(_decode(value), _decode(encode_png(img, 1)))  # OpenCV, any flags
    assert np.array_equal(_decode(value, cv2.IMREAD_COLOR), _decode(encode_png(img, 1), cv2.IMREAD_COLOR))
    pil = np.asarray(Image.open(io.BytesIO(value)))
    expected = img if img.ndim == 2 else img[:, :, [2, 1, 0, 3][:img.shape[2]]]
    assert np.array_equal(pil, expected)  # Pillow (RGB order)
    assert CHUNK[0:1].islower() and CHUNK[1:2].islower()  # ancillary, private: every decoder may skip it
    k, offsets, _ = parse_index(_chunk_body(value, CHUNK), img.shape[0])
    assert k == ROWS_PER_SEGMENT and len(offsets) == -(-img.shape[0] // k)


@pytest.mark.parametrize("codec", ["png-seek", "png"])
@pytest.mark.parametrize("name", list(IMAGES))
def test_every_window_equals_opencv_decode_cut_at_the_same_place(name, codec):
    img = IMAGES[name]()
    value = encode_value(img, codec)[0]
    full = _decode(value, cv2.IMREAD_COLOR)[:, :, ::-1]
    h, w = full.shape[:2]
    size = min(h, w, 23)
    for top in range(0, h - size + 1):
        for left in sorted({0, min(1, w - size), (w - size) // 2, w - size}):
            win, decoded, path = decode_png_window(value, top, left, size, size)
            assert path == ("seek" if codec == "png-seek" else "rows"), path
            assert np.array_equal(win, full[top:top + size, left:left + size]), (top, left)
            assert win.flags.c_contiguous and win.dtype == np.uint8
    # a window decodes from the restart above it (png: the top), and only the columns left of its right edge
    _, decoded, _ = decode_png_window(value, h - size, 0, size, size)
    first = (h - size) // ROWS_PER_SEGMENT * ROWS_PER_SEGMENT if codec == "png-seek" else 0
    assert decoded == (h - first) * size * (img.shape[2] if img.ndim == 3 else 1)


def test_plain_pngs_of_every_filter_decode_row_wise_exactly():
    """OpenCV's level-1 PNGs use all five filters; gray+alpha comes from Pillow."""
    img = _photo(150, 140, 3)
    value = encode_png(img, 1)
    scan = zlib.decompress(bytes(read_parts(value).stream))
    assert set(scan[::140 * 3 + 1]) >= {1, 2, 3, 4}
    full = _decode(value, cv2.IMREAD_COLOR)[:, :, ::-1]
    for top, left in [(0, 0), (11, 93), (103, 17), (150 - 47, 140 - 47)]:
        win, _, path = decode_png_window(value, top, left, 47, 47)
        assert path == "rows" and np.array_equal(win, full[top:top + 47, left:left + 47])
    buf = io.BytesIO()
    Image.fromarray(np.dstack([img[:, :, 0], img[:, :, 1]]), "LA").save(buf, "PNG")
    full = _decode(buf.getvalue(), cv2.IMREAD_COLOR)[:, :, ::-1]
    win, _, path = decode_png_window(buf.getvalue(), 30, 20, 40, 40)
    assert path == "rows" and np.array_equal(win, full[30:70, 20:60])


def _mutations(value: bytes, height: int) -> dict[str, bytes]:
    body = _chunk_body(value, CHUNK)
    k, offsets, adlers = parse_index(body, height)
    head = body[:7]

    def table(offs, ads):
        return head + np.array([offs, ads], ">u4").T.tobytes()

    shifted = offsets.copy()
    shifted[3] += 1
    swapped = offsets.copy()
    swapped[3], swapped[4] = offsets[4], offsets[3]
    repeated = offsets.copy()
    repeated[3] = offsets[4]
    bad_adler = adlers.copy()
    bad_adler[3] ^= 1
    return {
        "offset shifted": _with_chunk(value, CHUNK, table(shifted, adlers)),
        "offsets swapped": _with_chunk(value, CHUNK, table(swapped, adlers)),
        "offset repeated": _with_chunk(value, CHUNK, table(repeated, adlers)),
        "checksum changed": _with_chunk(value, CHUNK, table(offsets, bad_adler)),
        "rows per segment changed": _with_chunk(value, CHUNK, body[:1] + struct.pack(">H", k * 2) + body[3:]),
        "index cut short": _with_chunk(value, CHUNK, body[:-8]),
        "index from another image": _with_chunk(value, CHUNK, _chunk_body(encode_png_seek(_photo(height, 50, 3)),
                                                                          CHUNK)),
    }


@pytest.mark.parametrize("mutation", ["offset shifted", "offsets swapped", "offset repeated", "checksum changed",
                                      "rows per segment changed", "index cut short", "index from another image"])
def test_an_index_that_does_not_fit_its_data_gives_a_whole_decode_never_wrong_pixels(mutation):
    img = _photo(120, 90, 3)
    value = _mutations(encode_png_seek(img), 120)[mutation]
    assert png_intact(value)  # well-formed chunks: only the index lies
    full = _decode(value, cv2.IMREAD_COLOR)[:, :, ::-1]
    assert np.array_equal(full, img[:, :, ::-1])
    for top in (0, 40, 50, 60, 88):
        win, decoded, path = decode_png_window(value, top, 10, 32, 32)
        assert path == "mismatch" and np.array_equal(win, full[top:top + 32, 10:42])
        assert decoded == (top + 32) * 42 * 3  # decoded from the top


def test_restart_rows_that_read_the_row_above_are_not_trusted():
    """A value whose index fits its data but whose restart row uses Up/Average/Paeth: decoded from the top."""
    img = _photo(64, 40, 3)
    value = encode_png_seek(img)
    parts = read_parts(value)
    scan = bytearray(zlib.decompress(bytes(parts.stream)))
    line = 40 * 3 + 1
    row = ROWS_PER_SEGMENT * 2
    prev = np.frombuffer(bytes(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)[row - 1]), np.uint8)
    cur = np.frombuffer(bytes(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)[row]), np.uint8)
    scan[row * line] = 2  # Up
    scan[row * line + 1:(row + 1) * line] = (cur - prev).astype(np.uint8).tobytes()
    k = ROWS_PER_SEGMENT
    comp = zlib.compressobj(1)
    pieces, offsets, adlers, size = [], [], [], 0
    for s in range(0, 64, k):
        seg = bytes(scan[s * line:(s + k) * line])
        offsets.append(2 if s == 0 else size)
        adlers.append(zlib.adler32(seg))
        piece = comp.compress(seg) + (comp.flush(zlib.Z_FULL_FLUSH) if s + k < 64 else b"")
        pieces.append(piece)
        size += len(piece)
    pieces.append(comp.flush())
    index = _chunk_body(value, CHUNK)[:7] + np.array([offsets, adlers], ">u4").T.tobytes()
    forged = _with_chunk(_with_chunk(value, b"IDAT", b"".join(pieces)), CHUNK, index)
    full = _decode(forged, cv2.IMREAD_COLOR)[:, :, ::-1]
    assert np.array_equal(full, img[:, :, ::-1])
    win, _, path = decode_png_window(forged, row, 0, 16, 16)
    assert path == "mismatch" and np.array_equal(win, full[row:row + 16, :16])
    win, _, path = decode_png_window(forged, 0, 0, 16, 16)
    assert path == "seek" and np.array_equal(win, full[:16, :16])


def _corrupt_data_valid_crc(value: bytes, at_fraction: float) -> bytes:
    """``value`` with a byte of its compressed data changed and the IDAT CRC recomputed (a faulty writer)."""
    body = bytearray(_chunk_body(value, b"IDAT"))
    body[int(len(body) * at_fraction)] ^= 0x5A
    return _with_chunk(value, b"IDAT", bytes(body))


@pytest.mark.parametrize("codec", ["png", "png-seek"])
def test_corrupt_compressed_data_with_valid_crcs_is_rejected_like_opencv_does(codec):
    """issue 13 item 7: the window decoder stops before the end of the stream, yet gives OpenCV's verdict."""
    img = _photo(160, 120, 3)
    value = encode_value(img, codec)[0]
    if codec == "png":  # one IDAT, as the seekable writer makes it
        value = _with_chunk(value, b"IDAT", zlib.compress(zlib.decompress(bytes(read_parts(value).stream)), 1))
    bad = _corrupt_data_valid_crc(value, 0.9)
    assert png_intact(bad) and _decode(bad, cv2.IMREAD_COLOR) is None
    with pytest.raises(DalisrError, match="does not decode as an image"):
        decode_png_window(bad, 140, 0, 16, 16, "k", "store")  # reads the damaged rows
    if codec == "png":  # the rows path inflates the whole stream: even a window above the damage fails
        with pytest.raises(DalisrError, match="does not decode as an image"):
            decode_png_window(bad, 0, 0, 16, 16, "k", "store")
    else:  # a png-seek window that reads only intact segments gets their true pixels, never bad ones
        win, _, path = decode_png_window(bad, 0, 0, 16, 16, "k", "store")
        assert path == "seek" and np.array_equal(win, img[:16, :16, ::-1])


def test_truncated_and_bit_rotted_values_fail_on_every_window():
    value = encode_png_seek(_photo(100, 60, 3))
    with pytest.raises(DalisrError, match="truncated"):
        decode_png_window(value[:-20], 0, 0, 16, 16, "k", "store")
    rotted = bytearray(value)
    rotted[len(value) - 30] ^= 1  # in the last segment's data; CRC not updated
    with pytest.raises(DalisrError, match="fails its CRC"):
        decode_png_window(bytes(rotted), 0, 0, 16, 16, "k", "store")


def test_writer_refuses_what_it_cannot_store():
    for dtype in (np.float32, np.int16, np.uint32):  # 16-bit images are stored (tests/test_png16.py)
        with pytest.raises(DalisrError, match="8- or 16-bit"):
            encode_png_seek(np.zeros((4, 4, 3), dtype))
    for shape in [(4, 4, 2), (4, 4, 5), (4,), (4, 4, 3, 1), (0, 4, 3)]:
        with pytest.raises(DalisrError, match="gray, BGR or BGRA"):
            encode_png_seek(np.zeros(shape, np.uint8))


# -- LMDBs, the loader, the CLI -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seek_set(sample_set, tmp_path_factory):
    root = tmp_path_factory.mktemp("seek")
    gt, lq = str(root / "gt_seek.lmdb"), str(root / "lq_x4_seek.lmdb")
    convert_lmdb(sample_set.gt_lmdb, gt, "png-seek")
    convert_lmdb(sample_set.lq_lmdb(4), lq, "png-seek")
    return gt, lq


def _opt(gt, lq):
    return {"type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq, "io_backend": {"type": "lmdb"},
            "gt_size": 64, "scale": 4, "use_hflip": True, "use_rot": True, "batch_size_per_gpu": 4,
            "num_worker_per_gpu": 1, "num_threads": 1, "use_shuffle": True, "phase": "train",
            "dataset_enlarge_ratio": 2}


def _batches(opt, png_window=True):
    loader = build_dataloader(opt, device="cpu", seed=11)
    loader.runtime = dataclasses.replace(loader.runtime, png_window=png_window)
    out = list(loader)
    stats = dict(loader.stats)
    loader.close()
    return out, stats


def test_seek_lmdb_size_meta_info_and_basicsr_keys(seek_set, sample_set):
    seek, png = LmdbStore(seek_set[0]), LmdbStore(sample_set.gt_lmdb)
    entries = seek.meta()
    assert entries[0].line() == "0001_s001.png (480,480,3) png-seek" and entries[0].codec == "png-seek"
    seek_bytes = sum(len(seek.get(e.key)) for e in entries)
    png_bytes = sum(len(png.get(e.key)) for e in entries)
    assert seek_bytes <= 1.10 * png_bytes  # the bound; measured about +1%
    for e in entries:
        assert np.array_equal(_decode(seek.get(e.key)), _decode(png.get(e.key)))


def test_basicsr_reads_seek_values_as_it_reads_pngs(seek_set, sample_set):
    utils = pytest.importorskip("basicsr.utils")
    seek, png = LmdbStore(seek_set[0]), LmdbStore(sample_set.gt_lmdb)
    for e in seek.meta()[:3]:
        assert np.array_equal(utils.imfrombytes(seek.get(e.key), float32=True),
                              utils.imfrombytes(png.get(e.key), float32=True))


def test_seek_batches_equal_png_batches_and_a_bad_index_is_counted(seek_set, sample_set, tmp_path):
    png, png_stats = _batches(_opt(sample_set.gt_lmdb, sample_set.lq_lmdb(4)))
    seek, stats = _batches(_opt(*seek_set))
    by_dali, _ = _batches(_opt(*seek_set), png_window=False)  # DALI's own PNG decoder skips the index chunk
    assert len(seek) == len(png) == 4 and stats["png_seek_mismatches"] == 0 == png_stats["png_seek_mismatches"]
    for a, b, c in zip(seek, png, by_dali):
        assert a["gt_path"] == b["gt_path"] == c["gt_path"]
        for role in ("gt", "lq"):
            assert torch.equal(a[role], b[role]) and torch.equal(a[role], c[role])
    # every GT value's index made wrong (a shifted offset, chunk CRC valid): same batches, each decode counted
    broken = str(tmp_path / "gt_broken.lmdb")
    convert_lmdb(seek_set[0], broken, "png-seek")
    env = lmdb.open(broken, lock=False)
    with env.begin(write=True) as txn:
        for key, value in list(txn.cursor()):
            txn.put(key, _mutations(bytes(value), 480)["offset shifted"])
    env.close()
    again, stats = _batches(_opt(broken, seek_set[1]))
    assert stats["png_seek_mismatches"] == 16  # 4 batches of 4 samples, one GT value each
    for a, b in zip(again, png):
        assert torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"])


def test_create_lmdb_convert_meta_info_and_verify_commands(sample_set, tmp_path):
    out = tmp_path / "x4_seek.lmdb"
    result = CliRunner().invoke(main, ["create-lmdb", f"{sample_set.lq_folder(4)}", str(out), "--codec", "png-seek"])
    assert result.exit_code == 0, result.output
    assert "seekable PNG" in result.output
    lines = (out / "meta_info.txt").read_text().splitlines()
    assert lines[0] == "0001_s001.png (120,120,3) png-seek"
    meta = tmp_path / "meta.txt"
    result = CliRunner().invoke(main, ["meta-info", str(out), "-o", str(meta)])
    assert result.exit_code == 0 and meta.read_text().splitlines() == lines
    result = CliRunner().invoke(main, ["verify", str(out)])
    assert result.exit_code == 0, result.output
    back = tmp_path / "back.lmdb"
    result = CliRunner().invoke(main, ["convert", str(out), str(back), "--codec", "png"])
    assert result.exit_code == 0 and "png-seek -> png" in result.output, result.output


def test_profile_names_the_seek_path(seek_set):
    from dalisr.diagnose.profile import profile_loader

    report = profile_loader(_opt(*seek_set), iters=2, warmup=1, device="cpu", runtime={"png_window": True}).to_dict()
    assert report["source"].startswith("png-seek window: rows from the restart point above the crop")
    assert report["stages"]["seek_windows_per_sample"] == 2 and report["stages"]["seek_mismatches"] == 0
