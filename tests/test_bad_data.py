"""Bad data policy: on_error raise (default) names the key; skip replaces, logs and counts."""

from __future__ import annotations

import logging
import shutil

import lmdb
import pytest

from dalisr import DalisrError, build_dataloader


def _copy(sample_set, tmp_path):
    gt, lq = tmp_path / "gt.lmdb", tmp_path / "lq.lmdb"
    shutil.copytree(sample_set.gt_lmdb, gt)
    shutil.copytree(sample_set.lq_lmdb(4), lq)
    return gt, lq


def _put(path, key: str, value: bytes) -> None:
    env = lmdb.open(str(path), map_size=1 << 30)
    with env.begin(write=True) as txn:
        txn.put(key.encode(), value)
    env.close()


def _opt(gt, lq, **extra):
    o = {"type": "PairedImageDataset", "dataroot_gt": str(gt), "dataroot_lq": str(lq),
         "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4, "batch_size_per_gpu": 2,
         "num_worker_per_gpu": 1, "use_hflip": True, "use_rot": True}
    o.update(extra)
    return o


def _corrupt_middle(lq):
    env = lmdb.open(str(lq), readonly=True, lock=False)
    with env.begin() as txn:
        value = bytearray(txn.get(b"0001_s004"))
    env.close()
    value[len(value) // 2: len(value) // 2 + 64] = b"\x00" * 64  # damage inside the image data
    _put(lq, "0001_s004", bytes(value))


def _truncate(lq):
    env = lmdb.open(str(lq), readonly=True, lock=False)
    with env.begin() as txn:
        value = txn.get(b"0001_s004")
    env.close()
    _put(lq, "0001_s004", value[: len(value) // 3])


def _absent_from_data(gt, lq):
    for path in (gt, lq):
        with open(path / "meta_info.txt", "a") as f:
            f.write("0009_s404.png (480,480,3) 1\n" if path == gt else "0009_s404.png (120,120,3) 1\n")


def _run(loader, epochs=2):
    seen = []
    for _ in range(epochs):
        for batch in loader:
            seen.extend(batch["gt_path"])
    return seen


@pytest.mark.parametrize("damage,key", [(_corrupt_middle, "0001_s004"), (_truncate, "0001_s004")])
def test_corrupt_value_raises_naming_the_key(sample_set, tmp_path, damage, key):
    gt, lq = _copy(sample_set, tmp_path)
    damage(lq)
    loader = build_dataloader(_opt(gt, lq), device="cpu")
    with pytest.raises(DalisrError) as err:
        _run(loader)
    loader.close()
    assert key in str(err.value) and "lq.lmdb" in str(err.value)


def test_meta_info_key_absent_from_data_raises_naming_it(sample_set, tmp_path):
    gt, lq = _copy(sample_set, tmp_path)
    _absent_from_data(gt, lq)
    loader = build_dataloader(_opt(gt, lq), device="cpu")
    with pytest.raises(DalisrError, match="0009_s404.*not found in lmdb store"):
        _run(loader)
    loader.close()


@pytest.mark.parametrize("damage", [_corrupt_middle, _truncate, "absent"])
def test_skip_replaces_logs_and_counts(sample_set, tmp_path, damage, caplog):
    gt, lq = _copy(sample_set, tmp_path)
    bad = "0009_s404" if damage == "absent" else "0001_s004"
    if damage == "absent":
        _absent_from_data(gt, lq)
    else:
        damage(lq)
    loader = build_dataloader(_opt(gt, lq, on_error="skip"), device="cpu")
    with caplog.at_level(logging.WARNING, logger="dalisr"):
        seen = _run(loader, epochs=2)
    loader.close()
    assert bad not in seen  # never trained on
    per_epoch = len(loader) * 2
    assert len(seen) == 2 * per_epoch  # and no batch was lost or short
    assert loader.stats["skipped"] == 2  # once per epoch
    assert loader.stats["skipped_samples"] == [bad, bad]
    assert sum(bad in r.getMessage() for r in caplog.records) >= 2
