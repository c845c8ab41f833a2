"""Lossless JPEG 2000 values: header sizes, convert and create-lmdb, batches identical to the PNG path."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from dalisr import DalisrError, build_dataloader
from dalisr.cli import main
from dalisr.formats.codec import header_shape
from dalisr.formats.jp2 import encode_jp2, is_jp2, read_jp2_shape
from dalisr.formats.meta_info import MetaEntry, entries_codec, parse_line, read_meta_info
from dalisr.prep.convert import convert_lmdb
from dalisr.sources.encoded import check_sizes
from dalisr.storage import LmdbStore


def _values(path):
    store = LmdbStore(path)
    return {entry.key: store.get(entry.key) for entry in store.meta()}


def _pixels(value):
    return cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED)


@pytest.fixture(scope="module")
def jp2_set(sample_set, tmp_path_factory):
    root = tmp_path_factory.mktemp("jp2")
    gt, lq2, lq4 = (str(root / name) for name in ("gt_jp2.lmdb", "lq_x2_jp2.lmdb", "lq_x4_jp2.lmdb"))
    convert_lmdb(sample_set.gt_lmdb, gt, "jp2")
    convert_lmdb(sample_set.lq_lmdb(2), lq2, "jp2")
    convert_lmdb(sample_set.lq_lmdb(4), lq4, "jp2")
    return gt, lq2, lq4


@pytest.mark.parametrize("shape", [(37, 53, 3), (32, 41), (40, 32, 4)])
def test_encode_is_lossless_and_the_header_gives_the_shape(shape):
    img = np.random.default_rng(1).integers(0, 256, shape, np.uint8)
    buf = encode_jp2(img)
    assert is_jp2(buf) and np.array_equal(_pixels(buf), img)
    expected = (*shape[:2], shape[2] if len(shape) == 3 else 1)
    assert read_jp2_shape(buf) == header_shape(buf) == expected
    assert read_jp2_shape(buf[:20]) is None  # cut before the header box
    assert read_jp2_shape(cv2.imencode(".png", img)[1].tobytes()) is None
    with pytest.raises(DalisrError, match="8-bit"):
        encode_jp2(img.astype(np.uint16))
    with pytest.raises(DalisrError, match="at least 32 x 32 pixels; this one is 31 x"):
        encode_jp2(np.zeros((31, 60, 3), np.uint8))


def test_convert_to_jp2_keeps_keys_and_pixels_and_stays_basicsr_readable(jp2_set, sample_set, tmp_path):
    png_values, jp2_values = _values(sample_set.gt_lmdb), _values(jp2_set[0])
    assert list(jp2_values) == list(png_values)  # same keys, same order
    for key, value in jp2_values.items():
        assert is_jp2(value)
        # BasicSR's imfrombytes is cv2.imdecode: it reads the value and gets the PNG's pixels
        assert np.array_equal(_pixels(value), _pixels(png_values[key]))
    png_lines = open(f"{sample_set.gt_lmdb}/meta_info.txt").read().splitlines()
    jp2_lines = open(f"{jp2_set[0]}/meta_info.txt").read().splitlines()
    assert jp2_lines == [line.rsplit(" ", 1)[0] + " jp2" for line in png_lines]
    assert LmdbStore(jp2_set[0]).meta()[0].codec == "jp2"
    # and back: PNG values again (not the JPEG 2000 bytes copied), same pixels
    back = str(tmp_path / "back.lmdb")
    result = convert_lmdb(jp2_set[0], back, "png")
    assert (result.src_codec, result.codec) == ("jp2", "png")
    for key, value in _values(back).items():
        assert value[:8] == b"\x89PNG\r\n\x1a\n" and np.array_equal(_pixels(value), _pixels(png_values[key]))
    assert read_meta_info(f"{back}/meta_info.txt")[0].line() == "0001_s001.png (480,480,3) 1"
    again = str(tmp_path / "again.lmdb")
    convert_lmdb(jp2_set[0], again, "jp2")
    assert _values(again) == jp2_values  # jp2 -> jp2 copies


def test_meta_info_codec_field():
    assert parse_line("a.png (4,5,3) jp2") == MetaEntry("a.png", (4, 5, 3), "jp2")
    assert parse_line("a.png (4,5,3) jp2").line() == "a.png (4,5,3) jp2"
    with pytest.raises(DalisrError, match="mixes jp2 and png"):
        entries_codec([MetaEntry("a.png", None, 1), MetaEntry("b.png", None, "jp2")])


def _opt(gt, lq, **extra):
    o = {"type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq, "io_backend": {"type": "lmdb"},
         "gt_size": 64, "scale": 4, "use_hflip": True, "use_rot": True, "batch_size_per_gpu": 4,
         "num_worker_per_gpu": 1, "num_threads": 1, "use_shuffle": True, "phase": "train"}
    o.update(extra)
    return o


def _batches(opt):
    loader = build_dataloader(opt, device="cpu", seed=3)
    out = list(loader)
    source = loader.source
    loader.close()
    return out, source


@pytest.mark.parametrize("phase", ["train", "val"])
def test_jp2_batches_equal_png_batches(jp2_set, sample_set, phase):
    extra = {"phase": phase} if phase == "train" else {"phase": "val", "batch_size_per_gpu": 1, "use_rot": False}
    got, source = _batches(_opt(jp2_set[0], jp2_set[2], **extra))
    expected, _ = _batches(_opt(sample_set.gt_lmdb, sample_set.lq_lmdb(4), **extra))
    assert not source.emits_pixels  # encoded values go to DALI's decoder (nvJPEG2000 on a GPU)
    assert len(got) == len(expected) > 0
    for a, b in zip(got, expected):
        assert a["gt_path"] == b["gt_path"]
        assert torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"])


def test_scale_mismatch_is_caught_from_jp2_headers(jp2_set):
    gt, lq2 = _values(jp2_set[0])["0001_s001"], _values(jp2_set[1])["0001_s001"]
    check_sizes(gt, lq2, "0001_s001", "lq store", scale=2, gt_size=128)
    with pytest.raises(DalisrError, match=r"GT \(480, 480\) is not 4x multiplication of LQ \(240, 240\)"):
        check_sizes(gt, lq2, "0001_s001", "lq store", scale=4, gt_size=128)
    with pytest.raises(DalisrError, match="Scale mismatches"):  # from meta info, when the loader is built
        build_dataloader(_opt(jp2_set[0], jp2_set[1]), device="cpu", seed=3)


def test_create_lmdb_and_meta_info_from_jp2(sample_set, tmp_path):
    out = tmp_path / "gt_jp2.lmdb"
    result = CliRunner().invoke(main, ["create-lmdb", sample_set.gt_folder, str(out), "--dataset", "div2k",
                                       "--codec", "jp2"])
    assert result.exit_code == 0, result.output
    assert "lossless JPEG 2000" in result.output
    lines = (out / "meta_info.txt").read_text().splitlines()
    assert len(lines) == 8 and lines[0] == "0001_s001.png (480,480,3) jp2"
    value = _values(str(out))["0001_s001"]
    source = cv2.imread(f"{sample_set.gt_folder}/0001_s001.png", cv2.IMREAD_UNCHANGED)
    assert is_jp2(value) and np.array_equal(_pixels(value), source)
    # meta-info reads the sizes from the JPEG 2000 headers and keeps the codec
    meta = tmp_path / "meta.txt"
    result = CliRunner().invoke(main, ["meta-info", str(out), "-o", str(meta)])
    assert result.exit_code == 0, result.output
    assert meta.read_text().splitlines() == lines
