"""A memcached cluster behind the loader: a server stopping mid-epoch loses and repeats nothing."""

from __future__ import annotations

import os

import torch
from pymemcache.client.base import Client

from dalisr import build_dataloader
from dalisr.storage.hashing import memcached_key


def _opt(sample_set, backend):
    return {"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_folder,
            "dataroot_lq": sample_set.lq_folder(4), "io_backend": backend, "gt_size": 64, "scale": 4,
            "use_hflip": True, "use_rot": True, "batch_size_per_gpu": 2, "num_worker_per_gpu": 2,
            "dataset_enlarge_ratio": 4}  # 16 batches an epoch: most are read after the stop


def test_server_stopping_mid_epoch_costs_only_disk_reads(sample_set, memcached):
    a, b = memcached(), memcached()
    backend = {"type": "memcached", "servers": [a.address, b.address], "retry_after": 60}
    loader = build_dataloader(_opt(sample_set, backend), device="cpu", seed=11)
    list(loader)  # epoch 0 fills the cache
    names = sorted(os.listdir(sample_set.gt_folder))
    held = {s.address: sum(Client(("127.0.0.1", s.port)).get(
        memcached_key(os.path.normpath(os.path.join(sample_set.gt_folder, n)))) is not None for n in names)
        for s in (a, b)}
    assert held[a.address] > 0 and held[b.address] > 0  # both servers hold a share

    got = []
    for i, batch in enumerate(loader):  # epoch 1
        got.append(batch)
        if i == 0:
            a.stop()
    loader.close()
    paths = [p for batch in got for p in batch["gt_path"]]
    assert len(paths) == 4 * len(names)  # the enlarged epoch, nothing lost
    assert all(paths.count(n) == 4 for n in set(paths)) and len(set(paths)) == len(names)  # nothing repeated

    disk = build_dataloader(_opt(sample_set, {"type": "disk"}), device="cpu", seed=11)
    disk.set_epoch(1)
    expected = list(disk)
    disk.close()
    for x, y in zip(got, expected):
        assert x["gt_path"] == y["gt_path"]
        assert torch.equal(x["gt"], y["gt"]) and torch.equal(x["lq"], y["lq"])
