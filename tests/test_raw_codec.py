"""The zero-decode raw codec: header, meta info, convert, and batches bit-identical to the PNG path."""

from __future__ import annotations

import dataclasses

import cv2
import lmdb
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from dalisr import DalisrError, build_dataloader
from dalisr.cli import main
from dalisr.formats.meta_info import MetaEntry, entries_codec, parse_line, read_meta_info
from dalisr.formats.raw import HEADER_SIZE, decode_raw, encode_raw, raw_pixels, read_raw_header
from dalisr.prep.convert import convert_lmdb
from dalisr.sampling import window_anchor
from dalisr.sources.windows import WindowReader
from dalisr.storage import LmdbStore


@pytest.fixture(scope="module")
def raw_set(sample_set, tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    gt, lq = str(root / "gt_raw.lmdb"), str(root / "lq_x4_raw.lmdb")
    convert_lmdb(sample_set.gt_lmdb, gt, "raw")
    # one process: a worker pool forked from a test process that has run DALI threads can deadlock
    convert_lmdb(sample_set.lq_lmdb(4), lq, "raw")
    return gt, lq


def _opt(gt, lq, **extra):
    o = {"type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq, "io_backend": {"type": "lmdb"},
         "gt_size": 64, "scale": 4, "use_hflip": True, "use_rot": True, "batch_size_per_gpu": 4,
         "num_worker_per_gpu": 1, "num_threads": 1, "use_shuffle": True, "phase": "train", "dataset_enlarge_ratio": 2}
    o.update(extra)
    return o


def _batches(opt, png_window=True, epochs=1):
    loader = build_dataloader(opt, device="cpu", seed=11)
    loader.runtime = dataclasses.replace(loader.runtime, png_window=png_window)
    out = [b for _ in range(epochs) for b in loader]
    source = loader.source
    loader.close()
    return out, source


def _truncated_copy(src: str, dst: str, key: str, cut: int) -> str:
    """A copy of raw LMDB ``src`` whose value ``key`` lost its last ``cut`` bytes (an interrupted write)."""
    convert_lmdb(src, dst, "raw")
    env = lmdb.open(dst, lock=False)
    with env.begin(write=True) as txn:
        txn.put(key.encode(), txn.get(key.encode())[:-cut])
    env.close()
    return dst


def _values(path):
    store = LmdbStore(path)  # one environment per path and process: py-lmdb refuses a second
    return {entry.key: store.get(entry.key) for entry in store.meta()}


def test_header_round_trip_and_views():
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), np.uint8)
    buf = encode_raw(img)
    assert len(buf) == HEADER_SIZE + img.nbytes and read_raw_header(buf).shape == (5, 7, 3)
    assert np.array_equal(raw_pixels(buf), img) and np.array_equal(decode_raw(buf), img)
    gray = img[:, :, 0]
    assert np.array_equal(decode_raw(encode_raw(gray)), gray)
    with pytest.raises(DalisrError, match="truncated or corrupt"):
        raw_pixels(buf[:-1], "k", "here")
    with pytest.raises(DalisrError, match="8-bit"):
        encode_raw(img.astype(np.uint16))


def test_basicsr_imdecode_of_a_raw_value_returns_none(raw_set):
    value = next(iter(_values(raw_set[0]).values()))
    assert cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_COLOR) is None
    assert cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED) is None


def test_meta_info_records_the_codec_and_stays_basicsr_parseable(raw_set, sample_set):
    png_lines = open(f"{sample_set.gt_lmdb}/meta_info.txt").read().splitlines()
    raw_lines = open(f"{raw_set[0]}/meta_info.txt").read().splitlines()
    assert raw_lines == [line.rsplit(" ", 1)[0] + " raw" for line in png_lines]
    assert raw_lines[0] == "0001_s001.png (480,480,3) raw"
    assert [line.split(".")[0] for line in raw_lines] == list(_values(raw_set[0]))  # BasicSR's key rule
    entries = read_meta_info(f"{raw_set[0]}/meta_info.txt")
    assert entries_codec(entries) == "raw" and entries[0].shape == (480, 480, 3)
    assert entries_codec(read_meta_info(f"{sample_set.gt_lmdb}/meta_info.txt")) == "png"
    assert parse_line("a.png (4,5,3) 1") == MetaEntry("a.png", (4, 5, 3), 1)
    assert parse_line("a.png (4,5,3) raw").line() == "a.png (4,5,3) raw"
    with pytest.raises(DalisrError, match="mixes png and raw"):
        entries_codec([MetaEntry("a.png", None, 1), MetaEntry("b.png", None, "raw")])
    with pytest.raises(DalisrError, match="neither an integer nor 'raw', 'jp2' or 'png-seek'"):
        parse_line("a.png (4,5,3) fast")


def test_meta_info_command_keeps_the_raw_codec(raw_set, tmp_path):
    meta = tmp_path / "meta.txt"
    result = CliRunner().invoke(main, ["meta-info", raw_set[0], "-o", str(meta)])
    assert result.exit_code == 0, result.output
    assert meta.read_text() == open(f"{raw_set[0]}/meta_info.txt").read()


def test_convert_round_trips(raw_set, sample_set, tmp_path):
    png = str(tmp_path / "back.lmdb")
    again = str(tmp_path / "again_raw.lmdb")
    result = convert_lmdb(raw_set[0], png, "png")
    assert (result.count, result.src_codec, result.codec) == (8, "raw", "png")
    convert_lmdb(png, again, "raw")
    raw_values, back_values = _values(raw_set[0]), _values(png)
    assert _values(again) == raw_values  # raw -> png -> raw: the same bytes
    original = _values(sample_set.gt_lmdb)
    for key, value in back_values.items():  # png -> raw -> png: the same pixels (and here the same bytes)
        assert np.array_equal(cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED),
                              cv2.imdecode(np.frombuffer(original[key], np.uint8), cv2.IMREAD_UNCHANGED))
    assert read_meta_info(f"{png}/meta_info.txt")[0].line() == "0001_s001.png (480,480,3) 1"
    assert LmdbStore(again).meta()[0].codec == "raw"
    with pytest.raises(DalisrError, match="already exists"):
        convert_lmdb(raw_set[0], png, "png")


def test_convert_command(sample_set, tmp_path):
    out = tmp_path / "lq_raw.lmdb"
    result = CliRunner().invoke(main, ["convert", sample_set.lq_lmdb(2), str(out), "--codec", "raw"])
    assert result.exit_code == 0, result.output
    assert "8 values png -> raw" in result.output
    assert (out / "meta_info.txt").read_text().splitlines()[0] == "0001_s001.png (240,240,3) raw"


def test_raw_train_batches_equal_png_batches_bit_for_bit(raw_set, sample_set):
    png_dali, src_dali = _batches(_opt(sample_set.gt_lmdb, sample_set.lq_lmdb(4)), png_window=False)
    png_win, src_win = _batches(_opt(sample_set.gt_lmdb, sample_set.lq_lmdb(4)))
    raw, src_raw = _batches(_opt(*raw_set))
    assert not src_dali.emits_pixels and src_win.reader.codec == "png" and src_raw.reader.codec == "raw"
    assert len(raw) == len(png_dali) == 4
    for a, b, c in zip(raw, png_dali, png_win):
        assert a["gt_path"] == b["gt_path"] == c["gt_path"] and a["lq_path"] == b["lq_path"]
        for role in ("gt", "lq"):
            assert torch.equal(a[role], b[role]) and torch.equal(a[role], c[role])
    assert a["gt"].shape == (4, 3, 64, 64) and a["lq"].shape == (4, 3, 16, 16)


def test_raw_val_batches_equal_png_batches(raw_set, sample_set):
    o = {"phase": "val", "batch_size_per_gpu": 1, "use_hflip": False, "use_rot": False, "dataset_enlarge_ratio": 1}
    png, _ = _batches(_opt(sample_set.gt_lmdb, sample_set.lq_lmdb(4), **o))
    raw, source = _batches(_opt(*raw_set, **o))
    assert source.reader.codec == "raw" and not source.reader.crop and len(raw) == len(png) == 8
    for a, b in zip(raw, png):
        assert a["gt"].shape == (1, 3, 480, 480) and a["lq"].shape == (1, 3, 120, 120)
        assert torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"])


def test_window_anchor_matches_the_graph_at_the_edges():
    """The source's float32 anchor equals DALI's crop_anchor, for fractions that round at integer edges."""
    from nvidia.dali import fn, pipeline_def, types

    from dalisr.graph.ops import crop_anchor

    fractions = np.array([0.0, 1 - 2 ** -24, 0.5, 1 / 3, 2 / 3, 0.999999, 0.1234567, 0.75], np.float32)
    sizes = [(120, 120), (97, 331), (32, 33), (481, 500), (120, 120), (353, 1000), (1024, 77), (65, 4097)]
    cases = [(np.array([f, fractions[-1 - i]], np.float32), h, w) for i, (f, (h, w)) in enumerate(zip(fractions,
                                                                                                      sizes))]
    patch = 32

    def src(info):
        f, h, w = cases[info.idx_in_batch]
        return cv2.imencode(".png", np.zeros((h, w, 3), np.uint8))[1], f

    @pipeline_def(batch_size=len(cases), num_threads=1, device_id=None, exec_dynamic=True)
    def pipe():
        enc, f = fn.external_source(src, num_outputs=2, batch=False, dtype=[types.UINT8, types.FLOAT])
        return crop_anchor(enc, f, patch)

    p = pipe()
    p.build()
    (anchors,) = p.run()
    for i, (f, h, w) in enumerate(cases):
        assert tuple(np.asarray(anchors[i]).tolist()) == window_anchor(f, h, w, patch), (f, h, w)
        top, left = window_anchor(f, h, w, patch)
        assert 0 <= top <= h - patch and 0 <= left <= w - patch


def test_raw_errors_name_the_key(raw_set, sample_set, tmp_path):
    broken = _truncated_copy(raw_set[1], str(tmp_path / "broken_raw.lmdb"), "0001_s003", 10)
    with pytest.raises(DalisrError, match=r"key '0001_s003' in lmdb store .*truncated or corrupt"):
        _batches(_opt(raw_set[0], broken, use_shuffle=False))
    with pytest.raises(DalisrError, match="mix raw and encoded"):
        _batches(_opt(raw_set[0], sample_set.lq_lmdb(4)))
    # a bad sample is replaced under on_error: skip, as on the PNG path
    batches, _ = _batches(_opt(raw_set[0], broken, on_error="skip", use_shuffle=False))
    assert len(batches) == 4 and all("0001_s003" not in b["gt_path"] for b in batches)


def test_create_lmdb_can_write_raw_values(sample_set, tmp_path):
    out = tmp_path / "gt_raw.lmdb"
    result = CliRunner().invoke(main, ["create-lmdb", sample_set.gt_folder, str(out), "--dataset", "div2k",
                                       "--codec", "raw", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "raw pixels" in result.output
    assert (out / "meta_info.txt").read_text().splitlines()[0] == "0001_s001.png (480,480,3) raw"
    value = LmdbStore(str(out)).get("0001_s002")
    expected = cv2.imread(f"{sample_set.gt_folder}/0001_s002.png", cv2.IMREAD_UNCHANGED)
    assert np.array_equal(decode_raw(value), expected)


def test_verify_reads_raw_values(raw_set, tmp_path):
    result = CliRunner().invoke(main, ["verify", raw_set[0], "--paired-with", raw_set[1], "--scale", "4"])
    assert result.exit_code == 0, result.output
    assert "OK: 16 images checked, no problem" in result.output
    broken = _truncated_copy(raw_set[1], str(tmp_path / "broken_raw.lmdb"), "0001_s002", 7)
    result = CliRunner().invoke(main, ["verify", broken])
    assert result.exit_code != 0
    assert f"key '0001_s002' in {broken} does not decode" in result.output
    assert "FAILED: 8 images checked, 1 problem\n" in result.output


def test_raw_windows_without_the_page_map_read_through_a_transaction(raw_set, monkeypatch):
    """Where an LMDB's pages cannot be mapped, raw views come from a read transaction that ends with the block."""
    stores = {"gt": LmdbStore(raw_set[0]), "lq": LmdbStore(raw_set[1])}
    reader = WindowReader(stores, {"gt": 1, "lq": 1}, "raw", crop=True, scale=4, gt_size=64)
    key = stores["lq"].keys()[3]
    keys = {"gt": (key,), "lq": (key,)}
    fractions, flips = np.array([0.3, 0.7], dtype=np.float32), np.zeros(3, dtype=np.int32)
    mapped = reader.load(keys, fractions, flips).arrays
    monkeypatch.setattr(LmdbStore, "value_map", lambda self: None)
    with reader.opened(keys) as sample:
        assert set(sample.txns) == {id(stores["gt"]), id(stores["lq"])}
        cut = sample.cut(reader.windows(keys, sample.shapes, fractions)).arrays
    assert not sample.txns
    assert [a.shape for a in cut] == [(64, 64, 3), (16, 16, 3)]
    for a, b in zip(mapped, cut):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(DalisrError, match="'nope' not found in"):
        reader.opened({"gt": (key,), "lq": ("nope",)})
    np.testing.assert_array_equal(reader.load(keys, fractions, flips).arrays[1], mapped[1])
