"""What a large index costs: startup, worker memory, mid-epoch rebuild and index build time, by dataset size.

    .venv/bin/python tools/bench_index.py                                   # N = 20k, fork and spawn, quick
    .venv/bin/python tools/bench_index.py --n 100000 300000 1000000 --repeat 2 --json index.json   # the targets

It writes a BasicSR-format paired LMDB of N tiny images (8x8 GT, 2x2 LQ, x4: the same PNG bytes under every
key, so the index is what costs) once per N under ``--data`` (default /tmp/index-bench; 1M takes ~1 minute
and ~0.5 GB) and reuses it. ``--kind imagenet`` measures HAT's ImageNet list instead: ImageNetPairedDataset
over a ``meta_info_file`` of N ImageNet-style paths (``n01440764/n01440764_10026.JPEG (16,16,3)``; 1.28M is
ImageNet's training set), of which only the files the measured batches read exist (16x16 JPEGs). Every
measurement runs in a fresh process, the start methods interleaved
(fork, spawn, fork, spawn, ...), so that load from other jobs hits both alike. Per run:

* ``first_s``: ``build_dataloader`` -> first batch, imports excluded (dalisr, DALI, torch are imported first);
  ``first_cpu_s``: the main process's CPU time over the same span (workers excluded);
* ``worker_private_mb``: private memory (Private_Clean + Private_Dirty of ``/proc/PID/smaps_rollup``, i.e. USS)
  of each DALI worker process after a few batches, the largest reported;
* ``rebuild_s``: a resume mid-epoch (``load_state_dict`` to batch 7 of the running epoch) -> its first batch;
* ``index_us`` / ``index_cpu_us``: the dataset index build (``dalisr.datasets.build_dataset``) per sample, wall
  and CPU time, in the same process (its meta info files just read: in the page cache).

The lowest N's rebuild time is the reference for "beyond the workers' start": rebuild_over_min_s is the
difference. The load average is recorded with every run. ``--code DIR`` measures another checkout with the same
script (``git archive main | tar -x -C DIR`` for the before figures).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 16


def key(i: int) -> str:
    return f"{i // 1000:05d}_s{i % 1000:03d}"


def make_lmdb(n: int, data: str) -> tuple[str, str]:
    """GT and LQ LMDBs of ``n`` keys with their meta_info.txt (made once, reused)."""
    import cv2
    import lmdb
    import numpy as np

    out = os.path.join(data, f"N{n}")
    gt, lq = os.path.join(out, "gt.lmdb"), os.path.join(out, "lq.lmdb")
    if os.path.isfile(os.path.join(lq, "meta_info.txt")):
        return gt, lq
    rng = np.random.default_rng(0)
    for path, size in ((gt, 8), (lq, 2)):
        os.makedirs(path, exist_ok=True)
        value = cv2.imencode(".png", rng.integers(0, 256, (size, size, 3), dtype=np.uint8))[1].tobytes()
        env = lmdb.open(path, map_size=max(1 << 26, n * (len(value) + 96) * 2))
        with env.begin(write=True) as txn:
            for i in range(n):
                txn.put(key(i).encode(), value, append=True)
        env.close()
        tmp = os.path.join(path, "meta_info.txt.tmp")
        with open(tmp, "w") as f:
            f.writelines(f"{key(i)}.png ({size},{size},3) 1\n" for i in range(n))
        os.replace(tmp, os.path.join(path, "meta_info.txt"))
    return gt, lq


def imagenet_rel(i: int) -> str:
    wnid = f"n{i % 1000:08d}"
    return f"{wnid}/{wnid}_{i}.JPEG"


def make_imagenet_list(n: int, data: str) -> tuple[str, str]:
    """(GT folder, meta_info_file) of ``n`` listed images; only those the measured batches read are written."""
    import cv2
    import numpy as np

    from dalisr.sampling import EpochPlan

    out = os.path.join(data, f"imagenet{n}")
    meta = os.path.join(out, "meta_info_ImageNet_GT.txt")
    if os.path.isfile(meta):
        return os.path.join(out, "GT"), meta
    tmp = meta + ".tmp"
    os.makedirs(out, exist_ok=True)
    with open(tmp, "w") as f:
        f.writelines(f"{imagenet_rel(i)} (16,16,3)\n" for i in range(n))
    value = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8))[1]
    read = EpochPlan(num_samples=n, batch_size=BATCH, seed=0).shard_indices(0)[:16 * BATCH]  # first batch .. rebuild
    for i in sorted(set(read.tolist()) | set(range(16 * BATCH))):
        path = os.path.join(out, "GT", imagenet_rel(i))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        value.tofile(path)
    os.replace(tmp, meta)
    return os.path.join(out, "GT"), meta


# -- one run, in its own process ---------------------------------------------------------------------------------------
def private_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    return sum(int(fields.get(k, "0 kB").split()[0]) for k in ("Private_Clean", "Private_Dirty"))


def worker_pids(parent: int) -> list[int]:
    """DALI's worker processes: children of ``parent``, less multiprocessing's helpers (resource tracker)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"resource_tracker" not in cmd and b"forkserver" not in cmd:
            pids.append(int(name))
    return sorted(pids)


def child(args) -> None:
    import nvidia.dali  # noqa: F401
    import nvidia.dali.plugin.pytorch  # noqa: F401
    import torch  # noqa: F401

    import dalisr  # noqa: F401 - imports are excluded from every figure
    from dalisr import build_dataloader
    from dalisr.config import load_dataset_options
    from dalisr.datasets import build_dataset

    opt = {"name": "index-bench", "phase": "train", "gt_size": 8, "scale": 4, "use_hflip": True, "use_rot": True,
           "use_shuffle": True, "batch_size_per_gpu": BATCH, "num_worker_per_gpu": args.workers,
           "py_start_method": args.start}
    if args.kind == "imagenet":
        gt, meta = make_imagenet_list(args.n, args.data)
        opt.update(type="ImageNetPairedDataset", dataroot_gt=gt, meta_info_file=meta, io_backend={"type": "disk"})
    else:
        gt, lq = make_lmdb(args.n, args.data)
        opt.update(type="PairedImageDataset", dataroot_gt=gt, dataroot_lq=lq, io_backend={"type": "lmdb"})
    if args.threads:
        opt["num_threads"] = args.threads
    out = {"n": args.n, "kind": args.kind, "start": args.start, "workers": args.workers, "load": os.getloadavg()[0]}
    cpu0, t0 = time.process_time(), time.perf_counter()
    loader = build_dataloader(opt, device="cpu", seed=0)
    it = iter(loader)
    next(it)
    out["first_s"] = time.perf_counter() - t0
    out["first_cpu_s"] = time.process_time() - cpu0
    for _ in range(4):
        next(it)
    privs = [private_kb(p) for p in worker_pids(os.getpid())]
    out["worker_private_mb"] = max((p for p in privs if p is not None), default=0) / 1024
    out["workers_found"] = len(privs)
    out["main_private_mb"] = (private_kb(os.getpid()) or 0) / 1024
    state = loader.state_dict()
    state["batch"] = 7
    loader.load_state_dict(state)
    t0 = time.perf_counter()
    next(iter(loader))
    out["rebuild_s"] = time.perf_counter() - t0
    loader.close()
    cfg = load_dataset_options(opt)
    cpu0, t0 = time.process_time(), time.perf_counter()
    dataset, _ = build_dataset(cfg)
    out["index_us"] = (time.perf_counter() - t0) / len(dataset) * 1e6
    out["index_cpu_us"] = (time.process_time() - cpu0) / len(dataset) * 1e6
    print("RESULT " + json.dumps(out), flush=True)


# -- the driver ---------------------------------------------------------------------------------------------------
def run_one(args, n: int, start: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--n", str(n), "--start", start,
           "--workers", str(args.workers), "--data", args.data, "--kind", args.kind]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    env = dict(os.environ, PYTHONPATH=(args.code or ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"run n={n} {start} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[20000])
    p.add_argument("--start", nargs="+", default=["fork", "spawn"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="DALI threads (0: dalisr's default)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--data", default="/tmp/index-bench")
    p.add_argument("--kind", choices=("paired", "imagenet"), default="paired",
                   help="paired: PairedImageDataset on LMDBs; imagenet: ImageNetPairedDataset on a meta_info_file")
    p.add_argument("--json", help="write every run here")
    p.add_argument("--code", help="the dalisr tree to measure (default: this one), e.g. an export of main")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.n = args.n[0]
        args.start = args.start[0]
        return child(args)
    for n in args.n:
        t0 = time.perf_counter()
        (make_imagenet_list if args.kind == "imagenet" else make_lmdb)(n, args.data)
        print(f"data N={n}: ready ({time.perf_counter() - t0:.1f} s)", flush=True)
    runs = []
    for _ in range(args.repeat):
        for n in args.n:
            for start in args.start:
                res = run_one(args, n, start)
                runs.append(res)
                print(json.dumps(res), flush=True)
    cols = ("first_s", "first_cpu_s", "worker_private_mb", "rebuild_s", "index_us", "index_cpu_us")
    print(f"\n{'N':>8} {'start':>6} " + " ".join(f"{c:>17}" for c in cols) + "  (median of runs)")
    low = min(args.n)
    for n in args.n:
        for start in args.start:
            sel = [x for x in runs if x["n"] == n and x["start"] == start]
            med = {c: statistics.median(x.get(c, float("nan")) for x in sel) for c in cols}
            ref = statistics.median(x["rebuild_s"] for x in runs if x["n"] == low and x["start"] == start)
            print(f"{n:>8} {start:>6} " + " ".join(f"{med[c]:>17.3f}" for c in cols)
                  + f"  rebuild_over_min_s {med['rebuild_s'] - ref:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": runs, "cpus": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    main()
