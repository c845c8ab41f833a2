"""How build_dataloader maps BasicSR loader options and the environment onto DALI's settings."""

from __future__ import annotations

import pytest

from dalisr import DalisrError
from dalisr.config import load_dataset_options
from dalisr.loader.build import resolve_device, resolve_shard, runtime_options


def _cfg(**extra):
    opt = {"type": "PairedImageDataset", "dataroot_gt": "a", "dataroot_lq": "b", "io_backend": {"type": "disk"},
           "gt_size": 64, "scale": 4}
    opt.update(extra)
    return load_dataset_options(opt)


def test_prefetch_mode_cpu_sets_dali_queue_depth_and_workers():
    rt = runtime_options(_cfg(prefetch_mode="cpu", num_prefetch_queue=5, num_worker_per_gpu=3), "cpu", 8)
    assert rt.prefetch_queue_depth == 5 and rt.py_num_workers == 3 and rt.batch_size == 8
    assert rt.py_start_method == "fork" and rt.device_id is None
    assert runtime_options(_cfg(prefetch_mode="cuda", pin_memory=True), "cpu", 8).prefetch_queue_depth == 2


def test_shards_come_from_rank_and_world_size(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert resolve_shard(None, None) == (3, 4)
    assert resolve_shard(1, 2) == (1, 2)
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert resolve_shard(None, None) == (0, 1)


def test_device_choice():
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("gpu" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DalisrError, match="tpu"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DalisrError, match="no CUDA device"):
            resolve_device("gpu")


def test_thread_defaults_follow_who_decodes(sample_set, monkeypatch):
    from dalisr.datasets import build_dataset
    from dalisr.sources.choose import first_value_is_png, workers_decode_png

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    # measured on 2 cores: one worker per core, one DALI thread where the workers decode (BENCHMARKS.md)
    assert runtime_options(_cfg(), "cpu", 8, png_values=True, train_crop=True).num_threads == 1
    assert runtime_options(_cfg(), "cpu", 8, png_values=True, train_crop=True).py_num_workers == 2
    assert runtime_options(_cfg(), "cpu", 8, png_values=False, train_crop=True).num_threads == 2
    assert runtime_options(_cfg(), "cpu", 8, png_values=True, train_crop=False).num_threads == 2
    assert runtime_options(_cfg(num_worker_per_gpu=1), "cpu", 8, png_values=True, train_crop=True).num_threads == 2
    assert runtime_options(_cfg(num_threads=3), "cpu", 8, png_values=True, train_crop=True).num_threads == 3
    # the pipeline asks the same function with the threads chosen: the workers still decode
    assert workers_decode_png(True, True, workers=2, threads=1, cores=2)
    assert not workers_decode_png(True, True, workers=1, threads=2, cores=2)
    assert workers_decode_png(True, True, workers=1, threads=1, cores=2)
    lmdb = {"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb, "dataroot_lq": sample_set.lq_lmdb(4),
            "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4}
    assert first_value_is_png(*build_dataset(load_dataset_options({**lmdb, "phase": "train"})))
