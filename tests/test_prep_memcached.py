"""memcached-load against real memcached servers: what it puts, the loader's store gets as hits."""

from __future__ import annotations

import os

import cv2
import numpy as np
from click.testing import CliRunner

from dalisr.cli import main
from dalisr.storage import MemcachedStore


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_folder_load_then_store_get_is_a_hit(memcached, sample_set):
    a, b = memcached(), memcached()
    result = run("memcached-load", sample_set.gt_folder, "--servers", f"{a.address},{b.address}")
    assert result.exit_code == 0, result.output
    assert "8 values stored" in result.output
    store = MemcachedStore([a.address, b.address], sample_set.gt_folder, "dataroot_gt")
    for name in sorted(os.listdir(sample_set.gt_folder)):
        with open(os.path.join(sample_set.gt_folder, name), "rb") as f:
            assert store.get(name) == f.read()
    assert store.stats["hits"] == 8 and store.stats["misses"] == 0


def test_nested_folder_keys_and_server_list_file(memcached, tmp_path):
    server = memcached()
    root = tmp_path / "train_sharp"
    (root / "000").mkdir(parents=True)
    cv2.imwrite(str(root / "000" / "00000000.png"), np.zeros((4, 4, 3), np.uint8))
    cfg = tmp_path / "server_list.conf"
    cfg.write_text(f"{server.address}\n")
    assert run("memcached-load", root, "--server-list-cfg", cfg).exit_code == 0
    store = MemcachedStore([server.address], str(root))
    store.get("000/00000000.png")
    assert store.stats["hits"] == 1


def test_lmdb_load_puts_keys_as_files_of_the_dataroot(memcached, sample_set, tmp_path):
    server = memcached()
    dataroot = str(tmp_path / "datasets" / "DIV2K_train_LR_bicubicX4_sub")  # need not exist
    result = run("memcached-load", sample_set.lq_lmdb(4), "-s", server.address, "--dataroot", dataroot)
    assert result.exit_code == 0, result.output
    store = MemcachedStore([server.address], dataroot)
    from dalisr.storage import LmdbStore

    lmdb_store = LmdbStore(sample_set.lq_lmdb(4))
    assert store.get("0001_s003.png") == lmdb_store.get("0001_s003")
    assert store.stats["hits"] == 1
    # default dataroot: the LMDB's path without .lmdb
    run("memcached-load", sample_set.gt_lmdb, "-s", server.address)
    store = MemcachedStore([server.address], sample_set.gt_lmdb[: -len(".lmdb")])
    store.get("0001_s001.png")
    assert store.stats["hits"] == 1


def test_no_server_or_dead_server_is_an_error(memcached, sample_set):
    result = run("memcached-load", sample_set.gt_folder)
    assert result.exit_code == 1 and "--servers" in result.output
    server = memcached()
    address = server.address
    server.stop()
    result = run("memcached-load", sample_set.lq_folder(4), "--servers", address)
    assert result.exit_code == 1 and "not stored" in result.output
