"""A damaged cache value costs nothing; messages that say what to do (gt_size, corrupt values, a dead server)."""

from __future__ import annotations

import logging
import os
import socket
import threading

import numpy as np
import pytest

from dalisr import build_dataloader
from dalisr.errors import DalisrError
from dalisr.storage import MemcachedStore
from dalisr.storage.hashing import memcached_key


def damaged(data: bytes) -> bytes:
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0xFF  # inside the image data: a chunk CRC no longer matches
    return bytes(bad)


def test_a_damaged_value_in_memcached_is_replaced_from_the_file(memcached, sample_set, caplog):
    server = memcached()
    store = MemcachedStore([server.address], sample_set.gt_folder)
    keys = sorted(os.listdir(sample_set.gt_folder))[:2]
    good = {k: open(os.path.join(sample_set.gt_folder, k), "rb").read() for k in keys}
    for k in keys:
        assert store.put(k, damaged(good[k]))
    with caplog.at_level(logging.WARNING, logger="dalisr"):
        assert [store.get(k) for k in keys] == [good[k] for k in keys]  # nothing lost
    warnings = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(warnings) == 1 and keys[0] in warnings[0]  # warned once
    from pymemcache.client.base import Client

    host, port = server.address.split(":")
    assert Client((host, int(port))).get(memcached_key(store.name(keys[1]))) == good[keys[1]]  # stored again


def test_training_over_a_damaged_cache_loses_no_sample(memcached, sample_set):
    server = memcached()
    opt = {"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_folder, "dataroot_lq": sample_set.lq_folder(4),
           "io_backend": {"type": "memcached", "servers": [server.address]}, "gt_size": 64, "scale": 4,
           "batch_size_per_gpu": 2, "num_worker_per_gpu": 1, "on_error": "skip"}
    store = MemcachedStore([server.address], sample_set.gt_folder)
    for k in sorted(os.listdir(sample_set.gt_folder)):
        store.put(k, damaged(open(os.path.join(sample_set.gt_folder, k), "rb").read()))
    with build_dataloader(opt, device="cpu") as loader:
        batches = list(loader)
        assert len(batches) == 4 and loader.stats["skipped"] == 0


def test_gt_size_too_large_for_every_image_points_at_gt_size(sample_set):
    opt = {"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb, "dataroot_lq": sample_set.lq_lmdb(4),
           "io_backend": {"type": "lmdb"}, "gt_size": 1024, "scale": 4, "batch_size_per_gpu": 2}
    with pytest.raises(DalisrError, match=r"gt_size 1024 is too large for every image.*at most 480"):
        build_dataloader(opt, device="cpu")


def test_skip_warning_for_a_corrupt_value_says_how_to_fix_it(sample_set, tmp_path):
    from dalisr.config import load_dataset_options
    from dalisr.datasets import build_dataset
    from dalisr.sources.encoded import EncodedReader

    gt = tmp_path / "gt"
    gt.mkdir()
    for name in os.listdir(sample_set.gt_folder):
        data = open(os.path.join(sample_set.gt_folder, name), "rb").read()
        (gt / name).write_bytes(data[: len(data) // 2])  # truncated
    opt = {"type": "PairedImageDataset", "dataroot_gt": str(gt), "dataroot_lq": sample_set.lq_folder(4),
           "io_backend": {"type": "disk"}, "gt_size": 64, "scale": 4, "batch_size_per_gpu": 2, "on_error": "skip"}
    index, stores = build_dataset(load_dataset_options(opt))
    reader = EncodedReader(stores, index.roles, check_intact=True)  # what a source reads with under on_error: skip
    with pytest.raises(DalisrError, match=r"truncated or corrupt .*Fix: re-create it"):
        reader.load(index.keys_for(0, None), np.zeros(2, np.float32), np.zeros(3, np.int32))


def test_memcached_warning_names_an_error_without_text(sample_set, caplog):
    # a "server" that hangs up at once: pymemcache's error for it has no message
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def hang_up():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(1024)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    store = MemcachedStore([f"127.0.0.1:{port}"], sample_set.gt_folder)
    key = sorted(os.listdir(sample_set.gt_folder))[0]
    with caplog.at_level(logging.WARNING, logger="dalisr"):
        store.get(key)
    listener.close()
    message = next(r.getMessage() for r in caplog.records if "not answering" in r.getMessage())
    assert "()" not in message and "Error" in message


@pytest.mark.parametrize("backend", ["lmdb", "disk"])
def test_a_wrong_scale_is_blamed_on_scale_for_every_backend(sample_set, backend):
    """scale: 2 on x4 data with a gt_size that no x2 patch fits: the message names scale, not gt_size."""
    from dalisr import build_dataloader

    roots = ((sample_set.gt_lmdb, sample_set.lq_lmdb(4)) if backend == "lmdb"
             else (sample_set.gt_folder, sample_set.lq_folder(4)))
    opt = {"type": "PairedImageDataset", "dataroot_gt": roots[0], "dataroot_lq": roots[1],
           "io_backend": {"type": backend}, "gt_size": 400, "scale": 2, "batch_size_per_gpu": 2,
           "num_worker_per_gpu": 1, "phase": "train"}
    with pytest.raises(DalisrError) as err:
        loader = build_dataloader(opt, device="cpu")
        try:
            next(iter(loader))
        finally:
            loader.close()
    text = str(err.value)
    assert "Scale mismatches" in text and "is not 2x" in text and "the data's factor is 4" in text, text
    assert "correct scale" in text and "gt_size" not in text, text
