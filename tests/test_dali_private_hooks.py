"""The DALI internals dalisr depends on, in one place: this fails the day a DALI release moves them.

DALI 2.4 has no public way to stop a pipeline's Python workers now, so
``dalisr.loader.lifecycle.shutdown_pipeline`` is the one function that uses
``Pipeline._py_pool`` and ``Pipeline._shutdown``; ``cuda_initialized`` asks
``nvidia.dali.backend.IsDriverInitialized`` (whether forking workers is still
allowed). Everything else (worker pids, the running source) goes through the
loader's own API.
"""

from __future__ import annotations

import os
import time

from nvidia.dali import Pipeline

from dalisr import build_dataloader


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_close_stops_the_workers_through_the_private_hooks(sample_set):
    assert callable(getattr(Pipeline, "_shutdown", None)), \
        "DALI's Pipeline._shutdown is gone: update dalisr/loader/lifecycle.py"
    opt = {"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb, "dataroot_lq": sample_set.lq_lmdb(4),
           "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4, "batch_size_per_gpu": 2,
           "num_worker_per_gpu": 2, "dataset_enlarge_ratio": 10}
    loader = build_dataloader(opt, device="cpu", seed=0, shard_id=0, num_shards=1)
    assert loader.worker_pids() == [] and loader.source is None  # nothing runs before the first batch
    next(iter(loader))
    pids = loader.worker_pids()
    pipe = loader._pipe
    pool = getattr(pipe, "_py_pool", None)
    assert pool is not None and callable(getattr(pool, "close", None)), \
        "DALI's Pipeline._py_pool (the worker pool) is gone: update dalisr/loader/lifecycle.py"
    assert sorted(pool.pids()) == sorted(pids) and len(pids) == 2  # the watchdog sees DALI's own workers
    loader.close()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids), f"workers {pids} outlived loader.close() (pid {os.getpid()})"


def test_the_check_dali_makes_before_forking_is_there():
    """dalisr.loader.lifecycle.cuda_initialized asks DALI what it asks itself before forking its workers."""
    from nvidia.dali import backend

    from dalisr.loader.lifecycle import cuda_initialized

    assert callable(getattr(backend, "IsDriverInitialized", None)), \
        "DALI's backend.IsDriverInitialized is gone: update dalisr/loader/lifecycle.py cuda_initialized"
    assert cuda_initialized() is False  # no GPU here (the gpu tests start CPU loaders after CUDA is up)
