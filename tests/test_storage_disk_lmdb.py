"""Disk and LMDB stores against real files and a real LMDB."""

from __future__ import annotations

import multiprocessing as mp
import os

import cv2
import lmdb
import numpy as np
import pytest

from dalisr import DalisrError
from dalisr.formats.meta_info import read_meta_info
from dalisr.prep.lmdb_writer import LmdbWriter
from dalisr.storage import DiskStore, LmdbStore, open_store


def test_disk_store_reads_files_and_lists_images(sample_set):
    store = DiskStore(sample_set.gt_folder)
    keys = store.keys()
    assert keys[0] == "0001_s001.png" and len(keys) == 8
    with open(os.path.join(sample_set.gt_folder, keys[3]), "rb") as f:
        assert store.get(keys[3]) == f.read()


def test_disk_store_missing_key_names_key_and_store(sample_set):
    store = open_store({"type": "disk"}, sample_set.gt_folder, "dataroot_gt")
    with pytest.raises(DalisrError) as err:
        store.get("nope.png")
    assert "nope.png" in str(err.value) and sample_set.gt_folder in str(err.value)


def test_lmdb_store_values_are_basicsr_png_bytes(sample_set):
    store = LmdbStore(sample_set.gt_lmdb)
    assert store.keys()[:2] == ["0001_s001", "0001_s002"]
    src = cv2.imread(os.path.join(sample_set.gt_folder, "0001_s002.png"), cv2.IMREAD_UNCHANGED)
    expected = cv2.imencode(".png", src, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
    assert store.get("0001_s002") == expected


def test_lmdb_store_missing_key_names_key_and_store(sample_set):
    store = LmdbStore(sample_set.gt_lmdb)
    with pytest.raises(DalisrError) as err:
        store.get("9999_s001")
    assert "9999_s001" in str(err.value) and sample_set.gt_lmdb in str(err.value)


def test_lmdb_store_refuses_a_folder_without_data_mdb(tmp_path):
    with pytest.raises(DalisrError, match="not an LMDB"):
        LmdbStore(tmp_path)


def test_two_stores_on_one_lmdb_in_one_process(sample_set):
    a, b = LmdbStore(sample_set.lq_lmdb(4)), LmdbStore(sample_set.lq_lmdb(4))
    assert a.get("0001_s001") == b.get("0001_s001")


def _read_in_child(store: LmdbStore, key: str, queue) -> None:
    try:
        queue.put(store.get(key))
    except BaseException as exc:  # report, so the parent's assertion shows it
        queue.put(repr(exc))


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_lmdb_opened_in_parent_reads_in_child(sample_set, method):
    store = LmdbStore(sample_set.lq_lmdb(2))
    expected = store.get("0001_s003")  # the parent has the environment open now
    ctx = mp.get_context(method)
    queue = ctx.Queue()
    child = ctx.Process(target=_read_in_child, args=(store, "0001_s003", queue))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert got == expected
    assert store.get("0001_s004")  # and the parent still reads


def test_writer_output_matches_spec_byte_for_byte(tmp_path, sample_set):
    """Keys, values and meta_info lines as SPEC.md describes, read with plain lmdb + cv2."""
    imgs = {f"img{i:02d}": np.random.default_rng(i).integers(0, 255, (20 + i, 30, 3), np.uint8) for i in range(3)}
    imgs["gray"] = np.random.default_rng(9).integers(0, 255, (16, 12), np.uint8)
    out = tmp_path / "x.lmdb"
    with LmdbWriter(out, batch=2) as w:
        for key, img in imgs.items():
            value = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
            shape = img.shape if img.ndim == 3 else img.shape + (1,)
            w.put(key, value, f"{key}.png", shape, 1)
    env = lmdb.open(str(out), readonly=True, lock=False)
    with env.begin() as txn:
        stored = dict(txn.cursor())
    env.close()
    assert set(stored) == {k.encode() for k in imgs}
    for key, img in imgs.items():
        assert stored[key.encode()] == cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
    lines = (out / "meta_info.txt").read_text().splitlines()
    assert lines == ["img00.png (20,30,3) 1", "img01.png (21,30,3) 1", "img02.png (22,30,3) 1", "gray.png (16,12,1) 1"]


def test_independent_spec_lmdb_reads_back(tmp_path):
    """An LMDB made the way SPEC.md says (not by our writer) reads back exactly."""
    path = tmp_path / "indep.lmdb"
    env = lmdb.open(str(path), map_size=1 << 24)
    rng = np.random.default_rng(0)
    imgs = {f"000/{i:08d}": rng.integers(0, 255, (8, 10, 3), np.uint8) for i in range(4)}
    lines = []
    with env.begin(write=True) as txn:
        for key, img in imgs.items():
            txn.put(key.encode("ascii"), cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes())
            lines.append(f"{key}.png (8,10,3) 1\n")
    env.close()
    (path / "meta_info.txt").write_text("".join(lines))
    store = LmdbStore(path)
    assert store.keys() == sorted(imgs)
    assert [e.shape for e in store.meta()] == [(8, 10, 3)] * 4
    for key, img in imgs.items():
        assert np.array_equal(cv2.imdecode(np.frombuffer(store.get(key), np.uint8), cv2.IMREAD_COLOR), img)


def test_writer_leaves_nothing_on_failure_and_refuses_existing(tmp_path):
    out = tmp_path / "y.lmdb"
    with pytest.raises(RuntimeError):
        with LmdbWriter(out) as w:
            w.put("a", b"1")
            raise RuntimeError("boom")
    assert not out.exists() and not list(tmp_path.iterdir())
    with LmdbWriter(out) as w:
        w.put("a", b"1")
    with pytest.raises(DalisrError, match="already exists"):
        LmdbWriter(out)


def test_writer_grows_the_map_instead_of_guessing(tmp_path):
    out = tmp_path / "grow.lmdb"
    blob = os.urandom(300_000)
    with LmdbWriter(out, map_size=1 << 20, batch=3) as w:
        for i in range(10):
            w.put(f"k{i}", blob)
    assert w.map_size > 1 << 20
    assert read_meta_info(out / "meta_info.txt")[9].name == "k9"
    assert LmdbStore(out).get("k7") == blob


def _lmdb_pair(sample_set, tmp_path) -> dict:
    """A paired LMDB section on copies of the sample LMDBs (no other test in this process has opened them)."""
    import shutil

    gt, lq = tmp_path / "gt.lmdb", tmp_path / "lq.lmdb"
    shutil.copytree(sample_set.gt_lmdb, gt)
    shutil.copytree(sample_set.lq_lmdb(4), lq)
    return {"type": "PairedImageDataset", "dataroot_gt": str(gt), "dataroot_lq": str(lq),
            "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4, "batch_size_per_gpu": 2,
            "num_worker_per_gpu": 2, "dataset_enlarge_ratio": 4}


def test_a_running_loader_leaves_its_lmdbs_free_in_the_main_process(sample_set, tmp_path):
    """The main process only peeks at the first value (its format); it keeps no handle, so other code in it
    (BasicSR's own loader for a `dalisr: false` section, as `dalisr train` runs them) can open the LMDB."""
    from dalisr import build_dataloader

    opt = _lmdb_pair(sample_set, tmp_path)
    with build_dataloader(opt, device="cpu", seed=0, shard_id=0, num_shards=1) as loader:
        next(iter(loader))
        env = lmdb.open(opt["dataroot_gt"], readonly=True, lock=False)  # raises if a handle were held here
        with env.begin() as txn:
            assert txn.get(b"0001_s001") == LmdbStore(sample_set.gt_lmdb).get("0001_s001")
        env.close()


def test_an_lmdb_held_open_by_other_code_is_named(sample_set, tmp_path):
    from dalisr import build_dataloader

    opt = {**_lmdb_pair(sample_set, tmp_path), "num_worker_per_gpu": 0}  # read in this process
    env = lmdb.open(opt["dataroot_gt"], readonly=True, lock=False)
    try:
        with pytest.raises(DalisrError, match="other code in this process holds it open") as err:
            with build_dataloader(opt, device="cpu", seed=0, shard_id=0, num_shards=1) as loader:
                next(iter(loader))
        assert opt["dataroot_gt"] in str(err.value) and "dalisr: false" in str(err.value)
    finally:
        env.close()
