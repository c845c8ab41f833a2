"""The LMDB value map: the same bytes as py-lmdb for every key, found without reading values."""

from __future__ import annotations

import os

import lmdb
import pytest

from dalisr.storage import LmdbStore
from dalisr.storage.lmdb_pages import map_values


def _all_values(path):
    env = lmdb.open(path, readonly=True, lock=False)
    with env.begin() as txn:
        values = dict(txn.cursor())
    stat = env.stat()
    env.close()
    return values, stat


def _write(path, items, **open_kw):
    env = lmdb.open(path, map_size=1 << 28, **open_kw)
    with env.begin(write=True) as txn:
        for k, v in items:
            txn.put(k, v)
    env.close()


@pytest.mark.parametrize("which", ["gt", "lq"])
def test_map_gives_py_lmdb_values_of_sample_lmdbs(sample_set, which):
    path = sample_set.gt_lmdb if which == "gt" else sample_set.lq_lmdb(4)
    store = LmdbStore(path)  # py-lmdb opens an environment once per process: share the store's
    values = {e.key.encode(): store.get(e.key) for e in store.meta()}
    found = map_values(path, store.env().stat())
    assert found is not None and len(found) == len(values) == 8
    for key, value in values.items():
        assert bytes(found.view(key)) == value
    assert found.view(b"no-such-key") is None


def test_multi_level_tree_with_inline_and_overflow_values(tmp_path):
    path = str(tmp_path / "deep.lmdb")
    # 6000 small values (inline in leaves: several leaf levels, branch pages) and some over a page (overflow)
    items = [(f"k{i:05d}".encode(), os.urandom(40 + i % 200)) for i in range(6000)]
    items += [(f"big/{i:03d}".encode(), os.urandom(5000 + 997 * i)) for i in range(30)]
    _write(path, items)
    values, stat = _all_values(path)
    assert stat["depth"] >= 2 and stat["branch_pages"] > 0 and stat["overflow_pages"] > 0
    found = map_values(path, stat)
    assert found is not None and len(found) == len(values)
    for key, value in values.items():
        assert bytes(found.view(key)) == value


def test_unexpected_layouts_fall_back(tmp_path, caplog):
    dup = str(tmp_path / "dup.lmdb")
    env = lmdb.open(dup, map_size=1 << 24, max_dbs=2)
    db = env.open_db(b"sub", dupsort=True)
    with env.begin(write=True) as txn:
        txn.put(b"a", b"1", db=db)
        txn.put(b"a", b"2", db=db)
    env.close()
    assert map_values(dup, _all_values(dup)[1]) is None  # a named sub-database: not plain key/value data
    plain = str(tmp_path / "plain.lmdb")
    _write(plain, [(b"a", b"x" * 10000)])
    stat = _all_values(plain)[1]
    assert map_values(plain, dict(stat, entries=2)) is None  # the walk must agree with LMDB's stat
    assert "disagree" in caplog.text
    with open(os.path.join(plain, "data.mdb"), "r+b") as f:
        f.seek(16)
        f.write(b"\0\0\0\0")  # break the magic of meta page 0
    assert map_values(plain, stat) is None


def test_store_maps_once_per_process(sample_set):
    store = LmdbStore(sample_set.lq_lmdb(3))
    first = store.value_map()
    assert first is not None and store.value_map() is first
    key = store.meta()[0].key
    assert bytes(first.view(key.encode())) == store.get(key)
