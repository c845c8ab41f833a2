"""Side-by-side input throughput on one machine and one data set: BasicSR's data path, the decode limit, dalisr.

    .venv/bin/python tools/bench.py                      # x4, gt_size 128, batch 16, the sample set
    .venv/bin/python tools/bench.py --repeat 3 --json bench.json

Modes (each runs in a fresh process, so memory figures are its own):

* ``limit``: only ``cv2.imdecode`` of every GT + LQ pair, on one core, times the cores: what a loader that
  decodes every image whole could at best deliver;
* ``baseline``: BasicSR's PairedImageDataset training path re-implemented here (cv2.imdecode -> float32 / 255,
  paired_random_crop, augment hflip/vflip/transpose at p=.5, img2tensor BGR->RGB CHW) in a
  torch DataLoader with num_workers = cores, batch 16, drop_last, reading the same LMDB; pin_memory and
  a CUDA prefetcher where CUDA is available;
* ``dalisr-png``: dalisr on the PNG LMDB (training crops decoded row-wise in the source: rows from the top down to
  the crop, dalisr's row decoder);
  ``dalisr-png-seek``: dalisr on ``png-seek`` copies (standard PNGs with restart points every 16 rows: rows from the
  restart above the crop down to its bottom);
  ``dalisr-png-dali``: the same decoded by DALI (``png_window`` off: ROI decoding of the window);
  ``dalisr-raw``: dalisr on the raw-codec LMDBs, ``dalisr-jp2`` on lossless JPEG 2000 LMDBs (these and the
  png-seek copies made with ``dalisr.prep.convert`` on first use; JPEG 2000 is what DALI decodes on the GPU);
  ``*-gpu`` variants where CUDA is available.
* ``imagenet-hat`` / ``imagenet-dalisr`` (not run by default): HAT's ImageNet pretraining path (GT JPEGs, the LQ
  made by bicubic downscaling), HAT's class in a DataLoader vs dalisr, x4, gt_size 256, batch 16 on
  ``dalisr make-sample DATA --imagenet``'s JPEGs (tools/bench_imagenet.py; ``imagenet-dalisr-gpu`` with CUDA);
* ``degrade-basicsr`` / ``degrade-dalisr`` (not run by default): Real-ESRGAN's degradation, BasicSR's
  ``feed_data`` on the CPU vs dalisr's in-graph degradation, Real-ESRNet x4 options, gt_size 256,
  batch 12 (see tools/bench_degrade.py; ``--batch`` / ``--gt-size`` do not apply);
  ``degrade-basicsr-gpu`` / ``degrade-dalisr-gpu`` the same on CUDA.

Throughput is samples/s over ``--iters`` batches after ``--warmup``; CPU is user+system seconds of the
main process and its workers; peak RSS is the sum of the processes' high-water marks (VmHWM, shared pages
counted once per process); GPU MB is the device memory in use at its peak less what was in use before the
loader was built (cudaMemGetInfo). ``--keep-going`` records a mode that fails and goes on with the others.
The machine's load average is recorded with every run: other jobs on the machine slow every mode, so compare
runs taken together, and prefer ``--repeat``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(ROOT, "datasets", "sample")
TARGETS = {"png_vs_baseline": 1.75, "png_of_limit": 0.95, "raw_vs_baseline": 10.0, "rss_vs_baseline": 2.0,
           "gpu_vs_baseline": 2.0, "seek_vs_baseline": 3.0, "seek_vs_limit": 2.0, "seek_rss_vs_baseline": 1.5,
           "degrade_vs_basicsr": 1.0, "imagenet_vs_hat": 4.0}
#: converted copies of the sample LMDBs the codec modes read: mode prefix -> codec
CODEC_MODES = {"dalisr-raw": "raw", "dalisr-jp2": "jp2", "dalisr-png-seek": "png-seek"}


# -- the data ----------------------------------------------------------------------------------------------------------
def lmdb_paths(data: str, scale: int) -> tuple[str, str]:
    return (os.path.join(data, "DIV2K_train_HR_sub.lmdb"),
            os.path.join(data, f"DIV2K_train_LR_bicubic_X{scale}_sub.lmdb"))


def ensure_sample(data: str) -> None:
    if os.path.isfile(os.path.join(data, "DIV2K_train_HR_sub.lmdb", "data.mdb")):
        return
    if os.path.abspath(data) != DEFAULT_DATA:
        sys.exit(f"{data} holds no DIV2K_train_HR_sub.lmdb. Make it with: dalisr make-sample {data}")
    print(f"making the sample set in {data} (dalisr make-sample)", file=sys.stderr)
    from dalisr.prep.sample_images import make_sample_set

    make_sample_set(data)


def ensure_codec(data: str, scale: int, work: str, codec: str) -> tuple[str, str]:
    """``codec`` copies of the GT and LQ LMDBs under ``work``, remade when the PNG ones are newer."""
    from dalisr.prep.convert import convert_lmdb

    os.makedirs(work, exist_ok=True)
    out = []
    for src, name in zip(lmdb_paths(data, scale), (f"gt_{codec}.lmdb", f"lq_x{scale}_{codec}.lmdb")):
        dst = os.path.join(work, name)
        fresh = os.path.isfile(os.path.join(dst, "data.mdb")) and \
            os.path.getmtime(os.path.join(dst, "data.mdb")) >= os.path.getmtime(os.path.join(src, "data.mdb"))
        if not fresh:
            print(f"converting {src} -> {dst} ({codec} codec)", file=sys.stderr)
            convert_lmdb(src, dst, codec, workers=os.cpu_count() or 1, overwrite=True)
        out.append(dst)
    return out[0], out[1]


def keys_of(lmdb_path: str) -> list[str]:
    """Keys as BasicSR's paired_paths_from_lmdb takes them: meta_info.txt's first token before the dot."""
    with open(os.path.join(lmdb_path, "meta_info.txt"), encoding="utf-8") as f:
        return [line.split(".")[0] for line in f if line.strip()]


# -- limit ---------------------------------------------------------------------------------------------------------
def run_limit(args) -> dict:
    import cv2
    import lmdb
    import numpy as np

    cv2.setNumThreads(1)
    gt_path, lq_path = lmdb_paths(args.data, args.scale)
    keys = keys_of(lq_path)
    pairs = []
    envs = [lmdb.open(p, readonly=True, lock=False, readahead=False) for p in (gt_path, lq_path)]
    with envs[0].begin() as tg, envs[1].begin() as tl:
        for k in keys:
            pairs.append((bytes(tg.get(k.encode())), bytes(tl.get(k.encode()))))
    for g, _ in pairs[:4]:  # warm up
        cv2.imdecode(np.frombuffer(g, np.uint8), cv2.IMREAD_COLOR)
    times = []
    deadline = time.perf_counter() + args.limit_seconds
    while time.perf_counter() < deadline or len(times) < 3:
        start = time.perf_counter()
        for g, q in pairs:
            cv2.imdecode(np.frombuffer(g, np.uint8), cv2.IMREAD_COLOR)
            cv2.imdecode(np.frombuffer(q, np.uint8), cv2.IMREAD_COLOR)
        times.append(time.perf_counter() - start)
    per_pair = statistics.median(times) / len(pairs)
    cores = os.cpu_count() or 1
    return {"samples_per_s": cores / per_pair, "one_core_samples_per_s": 1 / per_pair,
            "cpu_ms_per_sample": 1000 * per_pair, "cores": cores, "passes": len(times), "pairs": len(pairs)}


# -- baseline: BasicSR's training data path ------------------------------------------------------------------------
class PairedLmdbDataset:
    """BasicSR's PairedImageDataset (lmdb backend, train phase), re-implemented from its documented behaviour."""

    def __init__(self, gt_path: str, lq_path: str, scale: int, gt_size: int) -> None:
        self.gt_path, self.lq_path, self.scale, self.gt_size = gt_path, lq_path, scale, gt_size
        gt_keys, self.keys = keys_of(gt_path), keys_of(lq_path)
        assert gt_keys == self.keys, "GT and LQ LMDBs list different keys"
        self.envs = None  # opened lazily in each worker, as BasicSR's FileClient

    def __len__(self) -> int:
        return len(self.keys)

    def _get(self, role: str, key: str) -> bytes:
        import lmdb

        if self.envs is None:
            self.envs = {r: lmdb.open(p, readonly=True, lock=False, readahead=False)
                         for r, p in (("gt", self.gt_path), ("lq", self.lq_path))}
        with self.envs[role].begin(write=False) as txn:
            return txn.get(key.encode("ascii"))

    @staticmethod
    def imfrombytes(content: bytes):
        import cv2
        import numpy as np

        img = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
        return img.astype(np.float32) / 255.0

    def paired_random_crop(self, img_gt, img_lq, key: str):
        scale, gt_size = self.scale, self.gt_size
        h_lq, w_lq = img_lq.shape[:2]
        h_gt, w_gt = img_gt.shape[:2]
        lq_patch = gt_size // scale
        if h_gt != h_lq * scale or w_gt != w_lq * scale:
            raise ValueError(f"Scale mismatches. GT ({h_gt}, {w_gt}) is not {scale}x multiplication of LQ "
                             f"({h_lq}, {w_lq}).")
        if h_lq < lq_patch or w_lq < lq_patch:
            raise ValueError(f"LQ ({h_lq}, {w_lq}) is smaller than patch size ({lq_patch}, {lq_patch}). "
                             f"Please remove {key}.")
        top = random.randint(0, h_lq - lq_patch)
        left = random.randint(0, w_lq - lq_patch)
        img_lq = img_lq[top:top + lq_patch, left:left + lq_patch, ...]
        top_gt, left_gt = int(top * scale), int(left * scale)
        img_gt = img_gt[top_gt:top_gt + gt_size, left_gt:left_gt + gt_size, ...]
        return img_gt, img_lq

    @staticmethod
    def augment(imgs: list, hflip: bool = True, rotation: bool = True) -> list:
        import cv2

        hflip = hflip and random.random() < 0.5
        vflip = rotation and random.random() < 0.5
        rot90 = rotation and random.random() < 0.5

        def _augment(img):
            if hflip:
                cv2.flip(img, 1, img)
            if vflip:
                cv2.flip(img, 0, img)
            if rot90:
                img = img.transpose(1, 0, 2)
            return img

        return [_augment(img) for img in imgs]

    @staticmethod
    def img2tensor(img):
        import cv2
        import torch

        if img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return torch.from_numpy(img.transpose(2, 0, 1)).float()

    def __getitem__(self, index: int) -> dict:
        key = self.keys[index]
        img_gt = self.imfrombytes(self._get("gt", key))
        img_lq = self.imfrombytes(self._get("lq", key))
        img_gt, img_lq = self.paired_random_crop(img_gt, img_lq, key)
        img_gt, img_lq = self.augment([img_gt, img_lq], True, True)
        return {"lq": self.img2tensor(img_lq), "gt": self.img2tensor(img_gt), "lq_path": key, "gt_path": key}


class EnlargedSampler:
    """BasicSR's EnlargedSampler on one rank: a seeded permutation of ``len * ratio`` indices, modulo ``len``."""

    def __init__(self, size: int, ratio: int, seed: int = 0) -> None:
        self.size, self.ratio, self.seed, self.epoch = size, ratio, seed, 0

    def __len__(self) -> int:
        return self.size * self.ratio

    def __iter__(self):
        import torch

        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        return iter([v % self.size for v in torch.randperm(len(self), generator=g).tolist()])


def _worker_init(worker_id: int, num_workers: int, seed: int, rank: int = 0) -> None:
    """BasicSR's worker_init_fn: numpy and random seeded per worker."""
    import numpy as np

    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed)
    random.seed(worker_seed)


class CUDAPrefetcher:
    """BasicSR's CUDAPrefetcher: the next batch is copied to the GPU on a side stream while this one is used."""

    def __init__(self, loader) -> None:
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

    def next(self):
        import torch

        torch.cuda.current_stream().wait_stream(self.stream)
        batch = self.batch
        self.preload()
        return batch


def run_baseline(args) -> dict:
    import functools

    import torch
    from torch.utils.data import DataLoader

    from dalisr.diagnose.proc_monitor import ProcessMonitor, children
    from dalisr.diagnose.profile import GpuMemory

    gt_path, lq_path = lmdb_paths(args.data, args.scale)
    dataset = PairedLmdbDataset(gt_path, lq_path, args.scale, args.gt_size)
    ratio = enlarge_ratio(len(dataset), args)
    cuda = torch.cuda.is_available()
    gpu = GpuMemory(0 if cuda else None)  # before the loader: its pinned buffers and prefetched batches count
    workers = args.workers
    loader = DataLoader(dataset, batch_size=args.batch, shuffle=False, sampler=EnlargedSampler(len(dataset), ratio),
                        num_workers=workers, drop_last=True, pin_memory=cuda,
                        worker_init_fn=functools.partial(_worker_init, num_workers=workers, seed=0))
    if cuda:
        prefetcher = CUDAPrefetcher(loader)
        next_batch = prefetcher.next
    else:
        it = iter(loader)

        def next_batch():  # BasicSR's CPUPrefetcher
            return next(it)

    monitor = ProcessMonitor(lambda: children())
    for _ in range(args.warmup):
        next_batch()
    return {**_measure(args, next_batch, monitor, "cuda" if cuda else "cpu", gpu), **gpu.report()}


def enlarge_ratio(size: int, args) -> int:
    return math.ceil((args.warmup + args.iters + 2) * args.batch / size) + 1


def _measure(args, next_batch, monitor, device: str, gpu=None) -> dict:
    before = monitor.cpu()
    start = time.perf_counter()
    for _ in range(args.iters):
        batch = next_batch()
        monitor.sample()
        if gpu is not None:
            gpu.sample()
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    after = monitor.cpu()
    main_hwm, workers_hwm = monitor.hwm()
    cpu = (after["main"] - before["main"]) + (after["workers"] - before["workers"])
    samples = args.iters * args.batch
    assert tuple(batch["gt"].shape) == (args.batch, 3, args.gt_size, args.gt_size)
    return {"samples_per_s": samples / wall, "wall_s": wall, "cpu_ms_per_sample": 1000 * cpu / samples,
            "peak_rss_mb": (main_hwm + workers_hwm) / 1e6, "main_hwm_mb": main_hwm / 1e6,
            "workers_hwm_mb": workers_hwm / 1e6, "device": device, "workers": len(monitor.worker_pids)}


# -- dalisr ----------------------------------------------------------------------------------------------------------
def run_dalisr(args, mode: str) -> dict:
    from dalisr.diagnose.profile import profile_loader

    device = "gpu" if mode.endswith("-gpu") else "cpu"
    codec = next((c for prefix, c in CODEC_MODES.items() if mode.startswith(prefix)), None)
    if codec:
        gt, lq = ensure_codec(args.data, args.scale, args.work_dir, codec)
    else:
        gt, lq = lmdb_paths(args.data, args.scale)
    size = len(keys_of(lq))
    opt = {"name": "bench", "type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq,
           "io_backend": {"type": "lmdb"}, "gt_size": args.gt_size, "scale": args.scale, "use_hflip": True,
           "use_rot": True, "use_shuffle": True, "batch_size_per_gpu": args.batch, "num_worker_per_gpu": args.workers,
           "dataset_enlarge_ratio": enlarge_ratio(size, args), "phase": "train"}
    runtime = {"png_window": not mode.startswith("dalisr-png-dali")}
    if args.num_threads:
        runtime["num_threads"] = args.num_threads
    elif not runtime["png_window"]:  # DALI decodes here: give it the threads build.runtime_options gives DALI decoding
        runtime["num_threads"] = max(1, min(4, os.cpu_count() or 2))
    if args.prefetch:
        runtime["prefetch_queue_depth"] = args.prefetch
    r = profile_loader(opt, iters=args.iters, warmup=args.warmup, device=device, runtime=runtime).to_dict()
    return {"samples_per_s": r["samples_per_s"], "wall_s": r["wall_s"], "cpu_ms_per_sample":
            r["stages"]["cpu_ms_per_sample"], "peak_rss_mb": r["memory"]["peak_rss_mb"],
            "main_hwm_mb": r["memory"]["main_hwm_mb"], "workers_hwm_mb": r["memory"]["workers_hwm_mb"],
            "device": device, "workers": r["cpu"]["workers"], "source": r["source"],
            "gpu_used_mb": r["memory"]["gpu_used_mb"], "gpu_torch_peak_mb": r["memory"]["gpu_torch_peak_mb"],
            "decoded_mb_per_s": r["decoded_mb_per_s"], "encoded_mb_per_s": r["encoded_mb_per_s"]}


def run_child(args) -> dict:
    if args.child.startswith("imagenet-"):
        from bench_imagenet import run_mode

        return run_mode(args.child, args)
    if args.child.startswith("degrade-"):
        from bench_degrade import run_mode

        return run_mode(args.child, args.data, args.workers, args.iters, args.warmup)
    if args.child == "limit":
        return run_limit(args)
    if args.child == "baseline":
        return run_baseline(args)
    return run_dalisr(args, args.child)


# -- the driver --------------------------------------------------------------------------------------------------------
LABELS = {"limit": "limit: cv2.imdecode only", "baseline": "baseline: BasicSR path",
          "dalisr-png": "dalisr PNG LMDB", "dalisr-png-seek": "dalisr png-seek LMDB",
          "dalisr-png-dali": "dalisr PNG, DALI ROI decode",
          "dalisr-raw": "dalisr raw LMDB", "dalisr-jp2": "dalisr JPEG 2000 LMDB",
          "dalisr-png-gpu": "dalisr PNG LMDB (gpu)", "dalisr-png-seek-gpu": "dalisr png-seek LMDB (gpu)",
          "dalisr-png-dali-gpu": "dalisr PNG, DALI ROI (gpu)",
          "dalisr-raw-gpu": "dalisr raw LMDB (gpu)", "dalisr-jp2-gpu": "dalisr JPEG 2000 LMDB (gpu)",
          "degrade-basicsr": "Real-ESRGAN feed_data, torch CPU", "degrade-dalisr": "dalisr degradation in graph",
          "degrade-basicsr-gpu": "Real-ESRGAN feed_data (gpu)", "degrade-dalisr-gpu": "dalisr degradation (gpu)",
          "imagenet-hat": "HAT ImageNetPairedDataset", "imagenet-dalisr": "dalisr ImageNetPairedDataset",
          "imagenet-dalisr-gpu": "dalisr ImageNetPaired (gpu)"}


def default_modes() -> list[str]:
    modes = ["limit", "baseline", "dalisr-png", "dalisr-png-seek", "dalisr-png-dali", "dalisr-raw", "dalisr-jp2"]
    try:
        import torch

        if torch.cuda.is_available():
            modes += ["dalisr-png-gpu", "dalisr-png-seek-gpu", "dalisr-png-dali-gpu", "dalisr-raw-gpu",
                      "dalisr-jp2-gpu"]
    except ImportError:  # pragma: no cover
        pass
    return modes


class ModeFailed(Exception):
    """One mode's process failed or ran past --mode-timeout."""


def spawn(mode: str, args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--data", args.data, "--scale",
           str(args.scale), "--gt-size", str(args.gt_size), "--batch", str(args.batch), "--iters", str(args.iters),
           "--warmup", str(args.warmup), "--workers", str(args.workers), "--work-dir", args.work_dir,
           "--limit-seconds", str(args.limit_seconds)]
    if args.num_threads:
        cmd += ["--num-threads", str(args.num_threads)]
    if args.prefetch:
        cmd += ["--prefetch", str(args.prefetch)]
    load_before = os.getloadavg()[0]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=args.mode_timeout)
    except subprocess.TimeoutExpired as exc:
        raise ModeFailed(f"{mode} ran past --mode-timeout {args.mode_timeout:g} s") from exc
    if proc.returncode != 0:
        raise ModeFailed(f"{mode} failed (exit status {proc.returncode}):\n{proc.stderr[-4000:]}")
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise ModeFailed(f"{mode} printed no result:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}") from exc
    result["load_before"] = round(load_before, 2)
    result["load_after"] = round(os.getloadavg()[0], 2)
    return result


def summarise(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Median of each mode's repeats, and its ratios to the baseline and the limit."""
    out = {}
    for mode, results in runs.items():
        if not results:  # every run of it failed (--keep-going)
            continue
        med = {k: statistics.median(r[k] for r in results) for k in ("samples_per_s", "cpu_ms_per_sample")}
        rss = [r["peak_rss_mb"] for r in results if "peak_rss_mb" in r]
        med["peak_rss_mb"] = statistics.median(rss) if rss else None
        gpu = [r["gpu_used_mb"] for r in results if r.get("gpu_used_mb") is not None]
        med["gpu_used_mb"] = statistics.median(gpu) if gpu else None
        med["all_samples_per_s"] = [round(r["samples_per_s"], 1) for r in results]
        med["load"] = [r["load_before"] for r in results]
        for key in ("source", "device", "cores", "workers"):
            if key in results[0]:
                med[key] = results[0][key]
        out[mode] = med
    base = out.get("baseline", {}).get("samples_per_s")
    limit = out.get("limit", {}).get("samples_per_s")
    for med in out.values():
        med["x_baseline"] = med["samples_per_s"] / base if base else None
        med["of_limit"] = med["samples_per_s"] / limit if limit else None
        med["rss_x_baseline"] = (med["peak_rss_mb"] / out["baseline"]["peak_rss_mb"]
                                 if base and med["peak_rss_mb"] else None)
    return out


def check_targets(summary: dict) -> list[dict]:
    checks = []

    def add(name, mode, key, target):
        if mode in summary and summary[mode].get(key) is not None:
            value = summary[mode][key]
            ok = value <= target if key == "rss_x_baseline" else value >= target
            checks.append({"target": name, "mode": mode, "value": round(value, 3), "needed": target, "met": ok})

    add("PNG LMDB >= 1.75x baseline", "dalisr-png", "x_baseline", TARGETS["png_vs_baseline"])
    add("PNG LMDB >= 95% of limit", "dalisr-png", "of_limit", TARGETS["png_of_limit"])
    add("png-seek LMDB >= 3x baseline", "dalisr-png-seek", "x_baseline", TARGETS["seek_vs_baseline"])
    add("png-seek LMDB >= 2x limit", "dalisr-png-seek", "of_limit", TARGETS["seek_vs_limit"])
    add("png-seek peak RSS within 1.5x baseline", "dalisr-png-seek", "rss_x_baseline",
        TARGETS["seek_rss_vs_baseline"])
    add("raw codec >= 10x baseline", "dalisr-raw", "x_baseline", TARGETS["raw_vs_baseline"])
    for mode in ("dalisr-png", "dalisr-raw"):
        add(f"{mode} peak RSS within 2x baseline", mode, "rss_x_baseline", TARGETS["rss_vs_baseline"])
    for sfx in ("", "-gpu"):  # the loader keeps up with the model's step
        ours, theirs = f"degrade-dalisr{sfx}", f"degrade-basicsr{sfx}"
        if ours in summary and theirs in summary:
            summary[ours]["x_feed_data"] = summary[ours]["samples_per_s"] / summary[theirs]["samples_per_s"]
            add(f"degraded pairs >= BasicSR's feed_data alone{' (gpu)' if sfx else ''}", ours, "x_feed_data",
                TARGETS["degrade_vs_basicsr"])
    for ours in ("imagenet-dalisr", "imagenet-dalisr-gpu"):  # HAT's ImageNet pretraining path
        if "imagenet-hat" in summary and ours in summary:
            summary[ours]["x_hat"] = summary[ours]["samples_per_s"] / summary["imagenet-hat"]["samples_per_s"]
            add(f"ImageNet pairs >= 4x HAT's class{' (gpu)' if ours.endswith('-gpu') else ''}", ours, "x_hat",
                TARGETS["imagenet_vs_hat"])
    gpu = [m for m in ("dalisr-png-gpu", "dalisr-png-seek-gpu", "dalisr-png-dali-gpu", "dalisr-jp2-gpu")
           if m in summary]
    if gpu:  # the issue's GPU target: encoded data, same CPU cores as the baseline
        best = max(gpu, key=lambda m: summary[m]["x_baseline"] or 0)
        add("GPU machine >= 2x baseline", best, "x_baseline", TARGETS["gpu_vs_baseline"])
    return checks


def table(summary: dict) -> str:
    gpu = any(m.get("gpu_used_mb") is not None for m in summary.values())
    head = f"{'mode':<32} {'samples/s':>10} {'x baseline':>10} {'% of limit':>10} {'CPU ms/smp':>10} " \
           f"{'peak RSS MB':>11}" + (f" {'GPU MB':>7}" if gpu else "") + "  load"
    lines = [head, "-" * len(head)]

    def fmt(v, spec):
        return format(v, spec) if v is not None else format("-", spec.split(".")[0])

    for mode, m in summary.items():
        of_limit = None if m["of_limit"] is None else 100 * m["of_limit"]
        lines.append(f"{LABELS.get(mode, mode):<32} {m['samples_per_s']:>10.1f} {fmt(m['x_baseline'], '>10.2f')} "
                     f"{fmt(of_limit, '>10.1f')} {m['cpu_ms_per_sample']:>10.2f} "
                     f"{fmt(m['peak_rss_mb'], '>11.0f')}" + (f" {fmt(m.get('gpu_used_mb'), '>7.0f')}" if gpu else "")
                     + f"  {', '.join(f'{x:.2f}' for x in m['load'])}")
    return "\n".join(lines)


def machine() -> dict:
    import cv2
    import nvidia.dali
    import PIL
    import torch

    import dalisr

    info = {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(), "dalisr": dalisr.__version__, "dali": nvidia.dali.__version__,
            "torch": torch.__version__, "opencv": cv2.__version__, "pillow": PIL.__version__,
            "cuda": torch.cuda.is_available()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_gb"] = round(int(f.readline().split()[1]) / 1e6, 1)
    except OSError:
        pass
    if info["cuda"]:
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=DEFAULT_DATA, help="folder holding the BasicSR LMDBs (default: the sample set)")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--gt-size", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--iters", type=int, default=60, help="batches measured per run")
    p.add_argument("--warmup", type=int, default=5, help="batches run before measuring")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                   help="DataLoader workers / DALI Python workers (default: the cores)")
    p.add_argument("--num-threads", type=int, default=None, help="DALI CPU threads (default: dalisr's)")
    p.add_argument("--prefetch", type=int, default=None, help="DALI prefetch queue depth (default: dalisr's)")
    p.add_argument("--modes", default=None, help="comma-separated subset of: " + ", ".join(LABELS))
    p.add_argument("--repeat", type=int, default=1, help="run every mode this many times, interleaved; medians")
    p.add_argument("--limit-seconds", type=float, default=3.0, help="how long the limit measurement decodes")
    p.add_argument("--work-dir", default=None, help="where raw, jp2 and png-seek copies go (default: DATA/bench_raw)")
    p.add_argument("--json", dest="json_path", default=None, help="write every figure to this file")
    p.add_argument("--keep-going", action="store_true",
                   help="a mode that fails is recorded and the others still run (exit status 1 at the end)")
    p.add_argument("--mode-timeout", type=float, default=None, help="seconds one mode's process may run")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.data = os.path.abspath(args.data)
    args.work_dir = os.path.abspath(args.work_dir or os.path.join(args.data, "bench_raw"))
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args)))
        return
    ensure_sample(args.data)
    modes = args.modes.split(",") if args.modes else default_modes()
    unknown = [m for m in modes if m not in LABELS]
    if unknown:
        raise SystemExit(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(LABELS)}")
    for prefix, codec in CODEC_MODES.items():
        if any(m.startswith(prefix) for m in modes):
            ensure_codec(args.data, args.scale, args.work_dir, codec)
    info = machine()
    print(f"machine: {info['cores']} cores ({info['cpu']}), CUDA {'yes' if info['cuda'] else 'no'}; "
          f"data: {args.data} x{args.scale}, gt_size {args.gt_size}, batch {args.batch}"
          f"{' (degrade-* modes: gt_size 256, batch 12)' if any(m.startswith('degrade-') for m in modes) else ''}"
          f"{' (imagenet-*: JPEGs, gt_size 256)' if any(m.startswith('imagenet-') for m in modes) else ''}, "
          f"{args.iters} batches after {args.warmup} warm-up, workers {args.workers}", flush=True)
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    failures: dict[str, str] = {}
    for r in range(args.repeat):
        for mode in modes:
            try:
                result = spawn(mode, args)
            except ModeFailed as exc:
                if not args.keep_going:
                    raise SystemExit(str(exc)) from None
                failures[mode] = str(exc)
                print(f"  [{r + 1}/{args.repeat}] {mode:<16} FAILED: {str(exc).splitlines()[0]}", flush=True)
            else:
                runs[mode].append(result)
                print(f"  [{r + 1}/{args.repeat}] {mode:<16} {result['samples_per_s']:8.1f} samples/s "
                      f"(load {result['load_before']:.2f})", flush=True)
            if args.json_path:  # what is done so far, should this run be stopped before the end
                with open(args.json_path, "w", encoding="utf-8") as f:
                    json.dump({"machine": info, "partial": True, "runs": runs, "failures": failures}, f, indent=2)
    summary = summarise(runs)
    checks = check_targets(summary)
    print()
    print(table(summary))
    print()
    for mode, m in summary.items():
        if m.get("source"):
            print(f"{mode}: {m['source']}")
    print()
    for c in checks:
        print(f"{'met   ' if c['met'] else 'MISSED'} {c['target']}: {c['value']} (needed {c['needed']})")
    for mode, err in failures.items():
        print(f"\nFAILED {mode}:\n{err}")
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as f:
            json.dump({"machine": info, "args": {k: v for k, v in vars(args).items() if k != "child"},
                       "summary": summary, "targets": checks, "runs": runs, "failures": failures}, f, indent=2)
        print(f"wrote {args.json_path}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
