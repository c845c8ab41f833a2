"""The memcached store against real memcached servers on loopback."""

from __future__ import annotations

import logging
import os

import pytest
from pymemcache.client.base import Client

from dalisr import DalisrError
from dalisr.storage import MemcachedStore, open_store
from dalisr.storage.hashing import memcached_key, owner


def _client(server) -> Client:
    return Client(("127.0.0.1", server.port))


def test_read_through_stores_a_miss_and_serves_the_hit(memcached, sample_set):
    server = memcached()
    store = MemcachedStore([server.address], sample_set.gt_folder, "dataroot_gt")
    name = os.path.join(sample_set.gt_folder, "0001_s001.png")
    assert _client(server).get(memcached_key(name)) is None
    with open(name, "rb") as f:
        expected = f.read()
    assert store.get("0001_s001.png") == expected
    assert store.stats == {"hits": 0, "misses": 1, "server_errors": 0}
    assert store.get("0001_s001.png") == expected
    assert store.stats["hits"] == 1


def test_server_list_file_and_backend_factory(memcached, sample_set, tmp_path):
    server = memcached()
    cfg = tmp_path / "server_list.conf"
    cfg.write_text(f"# our cluster\n{server.address}\n\n")
    store = open_store({"type": "memcached", "server_list_cfg": str(cfg)}, sample_set.lq_folder(4), "dataroot_lq")
    assert isinstance(store, MemcachedStore) and store.servers == [server.address]
    assert store.get("0001_s002.png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_key_names_key_and_store(memcached, sample_set):
    store = MemcachedStore([memcached().address], sample_set.gt_folder)
    with pytest.raises(DalisrError) as err:
        store.get("absent.png")
    assert "absent.png" in str(err.value) and "disk store" in str(err.value)


def test_stopped_server_falls_back_to_disk_with_one_warning(memcached, sample_set, caplog):
    server = memcached()
    store = MemcachedStore([server.address], sample_set.gt_folder, retry_after=0.0)
    keys = sorted(os.listdir(sample_set.gt_folder))[:4]
    first = [store.get(k) for k in keys]
    server.stop()
    with caplog.at_level(logging.WARNING, logger="dalisr"):
        again = [store.get(k) for k in keys]
    assert again == first  # nothing lost: every value still comes back, from disk
    warnings = [r for r in caplog.records if "not answering" in r.getMessage()]
    assert len(warnings) == 1 and server.address in warnings[0].getMessage()
    server.start()  # same port: it is used again
    store.get(keys[0])
    assert _client(server).get(memcached_key(store.name(keys[0]))) is not None


def test_value_over_item_limit_is_chunked_not_dropped(memcached, tmp_path):
    server = memcached(item_limit="512k")
    blob = os.urandom(1_300_000)
    (tmp_path / "big.bin").write_bytes(blob)
    store = MemcachedStore([server.address], tmp_path)
    assert store.item_limit() == 512 * 1024
    assert store.get("big.bin") == blob
    head = _client(server).get(memcached_key(store.name("big.bin")))
    assert head is not None and len(head) < 100  # the value itself went into chunks
    fresh = MemcachedStore([server.address], tmp_path)
    os.remove(tmp_path / "big.bin")  # a hit must now come from memcached alone
    assert fresh.get("big.bin") == blob and fresh.stats["hits"] == 1


def test_keys_memcached_cannot_hold_are_mapped(memcached, tmp_path):
    server = memcached()
    deep = "/".join(["d" * 60] * 4)  # a path over 250 bytes once dataroot is joined
    odd = ["with space.png", "ü-nicode.png", f"{deep}/long.png"]
    for i, name in enumerate(odd):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(bytes([i]) * 10)
    store = MemcachedStore([server.address], tmp_path)
    for i, name in enumerate(odd):
        assert store.get(name) == bytes([i]) * 10
        mapped = memcached_key(store.name(name))
        assert mapped == memcached_key(store.name(name)) and len(mapped) <= 250 and " " not in mapped
        assert _client(server).get(mapped) == bytes([i]) * 10
    assert memcached_key("plain/key.png") == "plain/key.png"


def test_rendezvous_hashing_moves_only_the_new_servers_share():
    servers = [f"10.0.0.{i}:11211" for i in range(3)]
    keys = [f"DIV2K/{i:04d}.png" for i in range(3000)]
    before = {k: owner(servers, k) for k in keys}
    after = {k: owner(servers + ["10.0.0.9:11211"], k) for k in keys}
    moved = [k for k in keys if before[k] != after[k]]
    assert all(after[k] == "10.0.0.9:11211" for k in moved)
    assert 0.15 < len(moved) / len(keys) < 0.35  # about a quarter


def test_store_pickles_without_connections(memcached, sample_set):
    import pickle

    store = MemcachedStore([memcached().address], sample_set.gt_folder)
    store.get("0001_s001.png")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get("0001_s001.png") == store.get("0001_s001.png")
