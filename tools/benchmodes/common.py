"""What several families of bench modes share, written once.

BasicSR's loader pieces (EnlargedSampler, worker seeding, CUDAPrefetcher)
re-implemented from their documented behaviour, so the torch DataLoader
sides run as BasicSR's training does; one timing loop and one DataLoader
runner for those sides; one call of dalisr's profiler for every dalisr
side, so that every mode reports the same result keys.
"""

from __future__ import annotations

import functools
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DATA = os.path.join(ROOT, "datasets", "sample")


def device_of(mode: str) -> str:
    """``gpu`` for a ``*-gpu`` mode, else ``cpu``."""
    return "gpu" if mode.endswith("-gpu") else "cpu"


def enlarge_ratio(size: int, batches: int, batch: int) -> int:
    """A ``dataset_enlarge_ratio`` whose epoch outlasts ``batches`` batches: no epoch rolls over while measuring."""
    return math.ceil(batches * batch / size) + 1


class EnlargedSampler:
    """BasicSR's EnlargedSampler on one rank: a seeded permutation of ``len * ratio`` indices, modulo ``len``."""

    def __init__(self, size: int, ratio: int, seed: int = 0) -> None:
        self.size, self.ratio, self.seed, self.epoch = size, ratio, seed, 0

    def __len__(self) -> int:
        return self.size * self.ratio

    def __iter__(self) -> Iterator[int]:
        import torch

        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        return iter([v % self.size for v in torch.randperm(len(self), generator=g).tolist()])


def worker_init(worker_id: int, num_workers: int, seed: int, rank: int = 0) -> None:
    """BasicSR's worker_init_fn: numpy and random seeded per worker."""
    import numpy as np

    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed)
    random.seed(worker_seed)


class CUDAPrefetcher:
    """BasicSR's CUDAPrefetcher: the next batch is copied to the GPU on a side stream while this one is used."""

    def __init__(self, loader: Any) -> None:
        import torch

        self.loader, self.stream = iter(loader), torch.cuda.Stream()
        self.batch = None
        self.preload()

    def preload(self) -> None:
        import torch

        try:
            self.batch = next(self.loader)
        except StopIteration:
            self.batch = None
            return
        with torch.cuda.stream(self.stream):
            for k, v in self.batch.items():
                if torch.is_tensor(v):
                    self.batch[k] = v.to(device="cuda", non_blocking=True)

    def next(self) -> dict | None:
        import torch

        torch.cuda.current_stream().wait_stream(self.stream)
        batch = self.batch
        self.preload()
        return batch


def measure(next_batch: Callable[[], dict], monitor: Any, *, iters: int, batch: int, gt_size: int, device: str,
            gpu: Any = None) -> dict:
    """``iters`` batches of ``next_batch`` timed, with the CPU and memory of the process and its workers.

    ``monitor`` is dalisr's ProcessMonitor over the DataLoader's workers: the
    workers' CPU is reported apart (``workers_cpu_ms_per_sample``), as dalisr's
    profiler reports its Python workers'.
    """
    before = monitor.cpu()
    start = time.perf_counter()
    for _ in range(iters):
        out = next_batch()
        monitor.sample()
        if gpu is not None:
            gpu.sample()
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    after = monitor.cpu()
    main_hwm, workers_hwm = monitor.hwm()
    workers_cpu = after["workers"] - before["workers"]
    cpu = (after["main"] - before["main"]) + workers_cpu
    samples = iters * batch
    assert tuple(out["gt"].shape) == (batch, 3, gt_size, gt_size), tuple(out["gt"].shape)
    return {"samples_per_s": samples / wall, "wall_s": wall, "cpu_ms_per_sample": 1000 * cpu / samples,
            "workers_cpu_ms_per_sample": 1000 * workers_cpu / samples,
            "peak_rss_mb": (main_hwm + workers_hwm) / 1e6, "main_hwm_mb": main_hwm / 1e6,
            "workers_hwm_mb": workers_hwm / 1e6, "device": device, "workers": len(monitor.worker_pids)}


def run_torch_loader(dataset: Any, *, batch: int, gt_size: int, workers: int, iters: int, warmup: int,
                     ratio: int) -> dict:
    """``dataset`` in a torch DataLoader as BasicSR's training builds it, warmed up, then measured.

    EnlargedSampler (seed 0), drop_last, BasicSR's worker seeding; pin_memory
    and its CUDAPrefetcher where CUDA is available, else plain iteration
    (its CPUPrefetcher). GPU MB counts from before the loader exists: its
    pinned buffers and prefetched batches are its own.
    """
    import torch
    from torch.utils.data import DataLoader

    from dalisr.diagnose.proc_monitor import ProcessMonitor, children
    from dalisr.diagnose.profile import GpuMemory

    cuda = torch.cuda.is_available()
    gpu = GpuMemory(0 if cuda else None)
    loader = DataLoader(dataset, batch_size=batch, shuffle=False, sampler=EnlargedSampler(len(dataset), ratio),
                        num_workers=workers, drop_last=True, pin_memory=cuda,
                        worker_init_fn=functools.partial(worker_init, num_workers=workers, seed=0))
    if cuda:
        next_batch = CUDAPrefetcher(loader).next
    else:
        it = iter(loader)

        def next_batch() -> dict:
            return next(it)

    monitor = ProcessMonitor(lambda: children())
    for _ in range(warmup):
        next_batch()
    return {**measure(next_batch, monitor, iters=iters, batch=batch, gt_size=gt_size,
                      device="cuda" if cuda else "cpu", gpu=gpu), **gpu.report()}


def basicsr_importable() -> None:
    """torchvision from tests/stubs where the real one does not import (CPU torch); dalisr's functional_tensor alias.

    basicsr 1.4.2 imports ``torchvision.transforms.functional_tensor``, gone
    from torchvision >= 0.17: dalisr registers an alias, as its tests and its
    ``dalisr train`` do.
    """
    try:
        import torchvision  # noqa: F401
    except Exception:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.path.insert(0, os.path.join(ROOT, "tests", "stubs"))
    from dalisr.integrations.basicsr.importing import register_functional_tensor_alias

    register_functional_tensor_alias()


def profile_dalisr(opt: dict, *, iters: int, warmup: int, device: str, runtime: dict | None = None) -> dict:
    """dalisr's profiler on the loader of ``opt``, its report cut to the bench's result keys.

    ``workers_cpu_ms_per_sample`` is the CPU of DALI's Python worker processes
    (they run dalisr's sources) per sample; ``cpu_ms_per_sample`` adds the main
    process (DALI's threads, the iterator).
    """
    from dalisr.diagnose.profile import profile_loader

    r = profile_loader(opt, iters=iters, warmup=warmup, device=device, runtime=runtime).to_dict()
    mem = r["memory"]
    return {"samples_per_s": r["samples_per_s"], "wall_s": r["wall_s"],
            "cpu_ms_per_sample": r["stages"]["cpu_ms_per_sample"],
            "workers_cpu_ms_per_sample": r["stages"]["workers_cpu_ms_per_sample"],
            "peak_rss_mb": mem["peak_rss_mb"], "main_hwm_mb": mem["main_hwm_mb"],
            "workers_hwm_mb": mem["workers_hwm_mb"], "device": device, "workers": r["cpu"]["workers"],
            "source": r["source"], "gpu_used_mb": mem["gpu_used_mb"], "gpu_torch_peak_mb": mem["gpu_torch_peak_mb"],
            "decoded_mb_per_s": r["decoded_mb_per_s"], "encoded_mb_per_s": r["encoded_mb_per_s"]}
