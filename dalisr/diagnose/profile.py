"""Profile a configured loader: throughput, bytes, CPU, memory and stage times (no printing here).

What DALI can and cannot tell: DALI 2.4 keeps no per-operator timers that a
CPU pipeline can read. ``Pipeline.executor_statistics()`` reports operator
output *memory* only, and only with ``exec_dynamic=False``; operator times are
published as NVTX ranges, which need Nsight Systems (and are meant for GPU
builds). So the profile measures its own stages:

* ``source``: in DALI's Python workers, per sample, the time the source
  callable takes (:class:`SourceStats`), split into store reads (``read``),
  decode + crop where the source does them (``decode``: PNG windows, raw
  slices) and the rest (keys, size checks, CRCs, random draws);
* threads: CPU seconds of every thread of the main process from
  ``/proc/self/task/*/stat``, grouped as DALI's operator threads (decode,
  slice, flip, normalize: the graph), DALI's executor and input threads, and
  the Python main thread (DALI iterator, copies into torch tensors, batch
  dicts); plus the CPU seconds of each worker process;
* ``wait``: wall time the training loop spent blocked in ``next(loader)``
  (the profile runs no training step, so this is nearly all of the wall time;
  with a real model it shows whether the loader keeps up).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import DalisrError
from ..loader.build import build_dataloader
from ..sources.stats import STAT_FIELDS, read_source_stats
from ..storage.residency import loader_files, residency
from .proc_monitor import ProcessMonitor

_MB = 1e6


@dataclass
class ProfileReport:
    """What :func:`profile_loader` measured; ``to_dict()`` is the JSON that ``dalisr profile --json`` writes."""

    config: str
    device: str
    source: str
    batch_size: int
    warmup: int
    batches: int
    samples: int
    wall_s: float
    samples_per_s: float
    batches_per_s: float
    encoded_mb_per_s: float
    decoded_mb_per_s: float
    cpu: dict[str, Any]
    memory: dict[str, float]
    stages: dict[str, Any]
    runtime: dict[str, Any]
    load_average: list[float]
    notes: list[str] = field(default_factory=list)
    #: the page cache at the start: resident_fraction of the loader's files (sampled with mincore), bytes, ...
    page_cache: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


NOTES = [
    "DALI 2.4 gives no per-operator times on CPU: executor_statistics() reports output memory only (and only with "
    "exec_dynamic=False); operator times are NVTX ranges for Nsight Systems. Stage times are measured by dalisr.",
    "stages.source_*: per sample in DALI's Python workers (read = store reads; decode = PNG rows / raw slices cut by "
    "the source; other = keys, size checks, CRCs, random draws). stages.threads: CPU seconds per thread group of the "
    "main process over the measured batches (DALI operator threads run the graph: decode, slice, flip, normalize).",
    "stages.wait_s: time blocked in next(loader); no training step runs, so it is nearly the whole wall time.",
    "memory: RSS summed over the main process and DALI's worker processes; shared pages count once per process. "
    "gpu_used_mb: device memory in use (cudaMemGetInfo, every process on the device) at its peak over the measured "
    "batches, less what was in use before the loader was built; gpu_torch_peak_mb: PyTorch's allocator peak (0 "
    "where DALI's iterator hands out tensors on its own memory).",
    "decoded bytes: rows actually decoded for PNG windows, copied windows for raw values, whole images (h*w*3) "
    "where DALI decodes (an upper bound for its ROI decoding of training crops).",
]


def _source_name(source, src: dict[str, float] | None = None) -> str:
    """The path the samples took; for PNG windows, whether png-seek restart points were used (from the counters)."""
    if source is None:
        return "unknown"
    if source.emits_pixels:
        if source.reader.codec == "raw":
            return "raw: windows sliced from the LMDB memory map in the workers, no decode"
        from ..formats.inflate import BACKEND

        decoder = f"dalisr's row decoder: {BACKEND} inflate, C unfilter; no DALI decode"
        if src and src.get("seek_windows"):
            return f"png-seek window: rows from the restart point above the crop to its bottom ({decoder})"
        return f"png window: rows from the top down to the crop ({decoder})"
    if source.dataset.bicubic_lq:
        return ("GT windows: DALI decodes the crop and its margin (ROI decoding) and makes the LQ from it "
                "(MATLAB's bicubic in the graph)")
    return "encoded bytes: DALI decodes (training crops: only the window, ROI decoding)"


class GpuMemory:
    """Device memory in use on the loader's GPU (``cudaMemGetInfo``: DALI's pools and PyTorch's alike).

    ``gpu_used_mb`` is the peak over the samples minus what was in use before
    the loader was built; ``gpu_torch_peak_mb`` is PyTorch's own peak (0 on an H200 with DALI 2.4: its iterator
    hands out tensors on DALI's own device memory, which ``gpu_used_mb`` counts).
    """

    def __init__(self, device_id: int | None) -> None:
        self.device_id = device_id
        self.base = self.peak = self._used()
        if device_id is not None:
            import torch

            torch.cuda.reset_peak_memory_stats(device_id)

    def _used(self) -> int:
        if self.device_id is None:
            return 0
        import torch

        free, total = torch.cuda.mem_get_info(self.device_id)
        return total - free

    def sample(self) -> None:
        if self.device_id is not None:
            self.peak = max(self.peak, self._used())

    def report(self) -> dict[str, float | None]:
        if self.device_id is None:
            return {"gpu_used_mb": None, "gpu_torch_peak_mb": None}
        import torch

        return {"gpu_used_mb": round((self.peak - self.base) / _MB, 1),
                "gpu_torch_peak_mb": round(torch.cuda.max_memory_allocated(self.device_id) / _MB, 1)}


def _batches(loader) -> Iterable[dict]:
    while True:
        yield from loader


def profile_loader(config, *, iters: int = 50, warmup: int = 5, device: str = "cpu", section: str | None = None,
                   seed: int | None = None, runtime: dict[str, Any] | None = None,
                   progress: Callable[[int], None] | None = None) -> ProfileReport:
    """Run the loader of ``config`` (a YAML path or option dict) for ``warmup`` + ``iters`` batches and measure.

    Epochs roll over as in training when the epoch is shorter. ``runtime``
    overrides :class:`dalisr.graph.pipeline.RuntimeOptions` fields (``num_threads``,
    ``py_num_workers``, ``prefetch_queue_depth``, ``png_window``...).
    ``progress(n)`` is called after each batch, warmup included.
    """
    if iters < 1 or warmup < 0:
        raise DalisrError(f"--iters must be at least 1 and --warmup 0 or more, got {iters} and {warmup}")
    stats_dir = tempfile.mkdtemp(prefix="dalisr-profile-")
    loader = build_dataloader(config, device=device, seed=seed, section=section)
    found = residency(loader_files(loader.dataset, loader.stores)[0])
    page_cache = found.to_dict() if found is not None else {}
    try:
        # before the pipeline exists (it is built on the first batch): the device memory it adds is its own
        gpu = GpuMemory(loader.runtime.device_id)
        changes = dict(runtime or {})
        unknown = set(changes) - {f.name for f in dataclasses.fields(loader.runtime)}
        if unknown:
            raise DalisrError(f"unknown runtime option(s) {', '.join(sorted(unknown))}")
        loader.runtime = dataclasses.replace(loader.runtime, stats_dir=stats_dir, **changes)

        monitor = ProcessMonitor(loader.worker_pids)
        it = _batches(loader)
        for _ in range(warmup):
            next(it)
            if progress:
                progress(1)
        before_src = read_source_stats(stats_dir)
        before_cpu = monitor.cpu()
        wait = 0.0
        start = time.perf_counter()
        for _ in range(iters):
            t = time.perf_counter()
            next(it)
            wait += time.perf_counter() - t
            monitor.sample()
            gpu.sample()
            if progress:
                progress(1)
        wall = time.perf_counter() - start
        after_cpu = monitor.cpu()
        after_src = read_source_stats(stats_dir)
        main_hwm, workers_hwm = monitor.hwm()
        source = loader.source
        gpu_memory = gpu.report()
        rt = dataclasses.asdict(loader.runtime)
        rt.pop("stats_dir", None)
    finally:
        loader.close()
        shutil.rmtree(stats_dir, ignore_errors=True)

    src = {k: after_src[k] - before_src[k] for k in STAT_FIELDS}
    samples = iters * loader.batch_size
    cpu_main = after_cpu["main"] - before_cpu["main"]
    cpu_workers = after_cpu["workers"] - before_cpu["workers"]
    cores = os.cpu_count() or 1
    threads = {name: round(after_cpu["threads"].get(name, 0.0) - before_cpu["threads"].get(name, 0.0), 3)
               for name in sorted(after_cpu["threads"])}
    n_src = max(src["samples"], 1.0)
    per = 1000.0 / n_src
    stages = {
        "source_samples": int(src["samples"]),
        "source_ms_per_sample": round(src["source_s"] * per, 4),
        "source_read_ms_per_sample": round(src["read_s"] * per, 4),
        "source_decode_ms_per_sample": round(src["decode_s"] * per, 4),
        "source_other_ms_per_sample": round((src["source_s"] - src["read_s"] - src["decode_s"]) * per, 4),
        # png-seek windows cut from a restart point, and values whose index did not fit (decoded from the top),
        # over every sample the workers made (warm-up included: they run ahead of the measured batches)
        "seek_windows_per_sample": round(after_src["seek_windows"] / max(after_src["samples"], 1.0), 3),
        "seek_mismatches": int(after_src["seek_mismatches"]),
        "wait_s": round(wait, 4),
        "wait_ms_per_batch": round(1000.0 * wait / iters, 3),
        "threads_cpu_s": threads,
        "workers_cpu_s": round(cpu_workers, 3),
        "cpu_ms_per_sample": round(1000.0 * (cpu_main + cpu_workers) / samples, 4),
        # the Python processes that run the source (read, decode crops, draws), per sample handed out
        "workers_cpu_ms_per_sample": round(1000.0 * cpu_workers / samples, 4),
    }
    # bytes are counted per sample the workers produced during the window (they run ahead): scale to the consumed
    scale = samples / n_src if src["samples"] else 0.0
    mb = {"encoded": src["encoded_bytes"] * scale / _MB, "decoded": src["decoded_bytes"] * scale / _MB}
    return ProfileReport(
        config=os.fspath(config) if isinstance(config, (str, os.PathLike)) else "option dict", device=loader.device,
        source=_source_name(source, after_src),
        batch_size=loader.batch_size, warmup=warmup, batches=iters, samples=samples, wall_s=round(wall, 4),
        samples_per_s=round(samples / wall, 2), batches_per_s=round(iters / wall, 3),
        encoded_mb_per_s=round(mb["encoded"] / wall, 3), decoded_mb_per_s=round(mb["decoded"] / wall, 3),
        cpu={"main_s": round(cpu_main, 3), "workers_s": round(cpu_workers, 3),
             "util_percent": round(100.0 * (cpu_main + cpu_workers) / wall, 1),
             "machine_percent": round(100.0 * (cpu_main + cpu_workers) / wall / cores, 1), "cores": cores,
             "workers": len(monitor.worker_pids)},
        memory={"peak_rss_mb": round((main_hwm + workers_hwm) / _MB, 1), "main_hwm_mb": round(main_hwm / _MB, 1),
                "workers_hwm_mb": round(workers_hwm / _MB, 1), "sampled_peak_rss_mb": round(monitor.peak_rss / _MB, 1),
                **gpu_memory},
        stages=stages, runtime=rt, load_average=[round(x, 2) for x in os.getloadavg()], notes=list(NOTES),
        page_cache=page_cache)
