"""Side-by-side input throughput on one machine and one data set: BasicSR's data path, the decode limit, dalisr.

    .venv/bin/python tools/bench.py                      # x4, gt_size 128, batch 16, the sample set
    .venv/bin/python tools/bench.py --repeat 3 --json bench.json
    .venv/bin/python tools/bench.py --strength           # Real-ESRGAN's degradation strength, both sides (JSON)

This file is the driver: it runs each mode in a fresh process (``--child MODE``, so memory figures are its own),
takes medians, checks the targets and prints the table. The modes live in tools/benchmodes/: its ``__init__``
names every mode, its label and its family; ``paired.py``, ``imagenet.py`` and ``degrade.py`` run them and say
what each does; ``common.py`` holds the timing loop and BasicSR's loader pieces they share.

Modes:

* ``limit``: only ``cv2.imdecode`` of every GT + LQ pair, on one core, times the cores: what a loader that
  decodes every image whole could at best deliver;
* ``baseline``: BasicSR's PairedImageDataset training path re-implemented (cv2.imdecode -> float32 / 255,
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
  ``*-gpu`` variants where CUDA is available (benchmodes/paired.py).
* ``imagenet-hat`` / ``imagenet-dalisr`` (not run by default): HAT's ImageNet pretraining path (GT JPEGs, the LQ
  made by bicubic downscaling), HAT's class in a DataLoader vs dalisr, x4, gt_size 256, batch 16 on
  ``dalisr make-sample DATA --imagenet``'s JPEGs (benchmodes/imagenet.py; ``imagenet-dalisr-gpu`` with CUDA);
* ``trainner-paired`` / ``trainner-dalisr`` / ``trainner-dalisr-seek`` (not run by default): traiNNer-redux's own
  PairedImageDataset in its own DataLoader (from a checkout: DALISR_TRAINNER_SRC) vs dalisr in its dialect on the
  same PNG folders (or png-seek LMDB copies), SPAN_S options: lq_size 64, batch 16 (benchmodes/trainner.py);
  ``-16`` on 16-bit copies, ``-gpu`` for dalisr's;
* ``degrade-basicsr`` / ``degrade-dalisr`` (not run by default): Real-ESRGAN's degradation, BasicSR's
  ``feed_data`` on the CPU vs dalisr's in-graph degradation, Real-ESRNet x4 options, gt_size 256,
  batch 12 (see benchmodes/degrade.py; ``--batch`` / ``--gt-size`` do not apply);
  ``degrade-basicsr-gpu`` / ``degrade-dalisr-gpu`` the same on CUDA; ``degrade-dalisr-graph`` (noise fields drawn
  in the graph, forced) and ``degrade-dalisr-source-gpu`` (drawn in the source, forced) against dalisr's default
  placement; ``realesrgan-dalisr`` (``-gpu``): the same loader without degradation, the reference of the workers'
  CPU per sample.

Throughput is samples/s over ``--iters`` batches after ``--warmup``; CPU is user+system seconds of the
main process and its workers, "worker ms" the workers' share (DataLoader workers, or DALI's Python workers that
run dalisr's sources); peak RSS is the sum of the processes' high-water marks (VmHWM, shared pages
counted once per process); GPU MB is the device memory in use at its peak less what was in use before the
loader was built (cudaMemGetInfo). ``--keep-going`` records a mode that fails and goes on with the others.
The machine's load average is recorded with every run: other jobs on the machine slow every mode, so compare
runs taken together, and prefer ``--repeat``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

from benchmodes import LABELS, family, run
from benchmodes.common import DEFAULT_DATA, ROOT
from benchmodes.paired import CODEC_MODES, ensure_codec, ensure_sample

TARGETS = {"png_vs_baseline": 1.75, "png_of_limit": 0.95, "raw_vs_baseline": 10.0, "rss_vs_baseline": 2.0,
           "gpu_vs_baseline": 2.0, "seek_vs_baseline": 3.0, "seek_vs_limit": 2.0, "seek_rss_vs_baseline": 1.5,
           "degrade_vs_basicsr": 1.0, "imagenet_vs_hat": 4.0, "workers_on_vs_off": 1.25,
           "degrade_vs_basicsr_gpu": 2.0, "degrade_cpu_vs_basicsr_gpu": 1.0, "trainner_disk_vs_own": 2.5,
           "trainner_seek_vs_own": 5.0}
#: ratios that must stay at or under their target (the others must reach it)
AT_MOST = ("rss_x_baseline", "x_workers_off", "x_cpu_feed_data")


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


def spawn(mode: str, args: argparse.Namespace) -> dict:
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
        workers_cpu = [r["workers_cpu_ms_per_sample"] for r in results
                       if r.get("workers_cpu_ms_per_sample") is not None]
        med["workers_cpu_ms_per_sample"] = statistics.median(workers_cpu) if workers_cpu else None
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

    def add(name: str, mode: str, key: str, target: float | None) -> None:
        if mode in summary and summary[mode].get(key) is not None:
            value = summary[mode][key]
            ok = None if target is None else value <= target if key in AT_MOST else value >= target
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
            if sfx:  # on the GPU, where Real-ESRGAN's training degrades: twice as fast, no more CPU per sample
                add("degradation >= 2x feed_data (gpu)", ours, "x_feed_data", TARGETS["degrade_vs_basicsr_gpu"])
                if summary[theirs]["cpu_ms_per_sample"]:
                    summary[ours]["x_cpu_feed_data"] = (summary[ours]["cpu_ms_per_sample"]
                                                        / summary[theirs]["cpu_ms_per_sample"])
                add("degradation CPU per sample <= feed_data's (gpu)", ours, "x_cpu_feed_data",
                    TARGETS["degrade_cpu_vs_basicsr_gpu"])
    for sfx in ("", "-gpu"):  # the degradation costs the workers (dalisr's sources) little: on vs off
        ours = f"degrade-dalisr-graph{sfx}" if f"degrade-dalisr-graph{sfx}" in summary else f"degrade-dalisr{sfx}"
        off = summary.get(f"realesrgan-dalisr{sfx}", {}).get("workers_cpu_ms_per_sample")
        if ours in summary and off and summary[ours].get("workers_cpu_ms_per_sample") is not None:
            summary[ours]["x_workers_off"] = summary[ours]["workers_cpu_ms_per_sample"] / off
            add(f"worker CPU, degradation on <= 1.25x off{' (gpu)' if sfx else ''}", ours, "x_workers_off",
                TARGETS["workers_on_vs_off"])
    for ours in ("imagenet-dalisr", "imagenet-dalisr-gpu"):  # HAT's ImageNet pretraining path
        if "imagenet-hat" in summary and ours in summary:
            summary[ours]["x_hat"] = summary[ours]["samples_per_s"] / summary["imagenet-hat"]["samples_per_s"]
            add(f"ImageNet pairs >= 4x HAT's class{' (gpu)' if ours.endswith('-gpu') else ''}", ours, "x_hat",
                TARGETS["imagenet_vs_hat"])
    for depth in ("", "-16"):  # traiNNer-redux's own PairedImageDataset and DataLoader on the same files
        theirs = summary.get(f"trainner-paired{depth}", {}).get("samples_per_s")
        for kind, what, target in (("", "PNG disk", "trainner_disk_vs_own"),
                                   ("-seek", "png-seek LMDB", "trainner_seek_vs_own")):
            for sfx in ("", "-gpu"):
                ours = f"trainner-dalisr{kind}{depth}{sfx}"
                if not theirs or ours not in summary:
                    continue
                summary[ours]["x_trainner"] = summary[ours]["samples_per_s"] / theirs
                if depth or sfx:  # reported, no target
                    add(f"traiNNer {what}{' 16-bit' if depth else ''}{' (gpu)' if sfx else ''} vs its "
                        f"PairedImageDataset{' 16-bit' if depth else ''}", ours, "x_trainner", None)
                else:
                    add(f"traiNNer {what} >= {TARGETS[target]:g}x its PairedImageDataset", ours, "x_trainner",
                        TARGETS[target])
    gpu = [m for m in ("dalisr-png-gpu", "dalisr-png-seek-gpu", "dalisr-png-dali-gpu", "dalisr-jp2-gpu")
           if m in summary]
    if gpu:  # the issue's GPU target: encoded data, same CPU cores as the baseline
        best = max(gpu, key=lambda m: summary[m]["x_baseline"] or 0)
        add("GPU machine >= 2x baseline", best, "x_baseline", TARGETS["gpu_vs_baseline"])
    return checks


def table(summary: dict) -> str:
    gpu = any(m.get("gpu_used_mb") is not None for m in summary.values())
    w = max([32] + [len(LABELS.get(mode, mode)) for mode in summary])
    head = f"{'mode':<{w}} {'samples/s':>10} {'x baseline':>10} {'% of limit':>10} {'CPU ms/smp':>10} " \
           f"{'worker ms':>10} {'peak RSS MB':>11}" + (f" {'GPU MB':>7}" if gpu else "") + "  load"
    lines = [head, "-" * len(head)]

    def fmt(v: float | None, spec: str) -> str:
        return format(v, spec) if v is not None else format("-", spec.split(".")[0])

    for mode, m in summary.items():
        of_limit = None if m["of_limit"] is None else 100 * m["of_limit"]
        lines.append(f"{LABELS.get(mode, mode):<{w}} {m['samples_per_s']:>10.1f} {fmt(m['x_baseline'], '>10.2f')} "
                     f"{fmt(of_limit, '>10.1f')} {m['cpu_ms_per_sample']:>10.2f} "
                     f"{fmt(m.get('workers_cpu_ms_per_sample'), '>10.2f')} {fmt(m['peak_rss_mb'], '>11.0f')}"
                     + (f" {fmt(m.get('gpu_used_mb'), '>7.0f')}" if gpu else "")
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
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
    p.add_argument("--strength", action="store_true",
                   help="instead of speed: Real-ESRGAN's degradation strength, feed_data vs dalisr on the same 96 GT "
                        "squares of --data (distributions of PSNR(LQ, downscaled GT)), printed as JSON")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.data = os.path.abspath(args.data)
    args.work_dir = os.path.abspath(args.work_dir or os.path.join(args.data, "bench_raw"))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run(args.child, args)))
        return
    ensure_sample(args.data)
    if args.strength:
        from benchmodes.degrade import strength

        print(json.dumps(strength(args.data)))
        return
    modes = args.modes.split(",") if args.modes else default_modes()
    unknown = [m for m in modes if m not in LABELS]
    if unknown:
        raise SystemExit(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(LABELS)}")
    for prefix, codec in CODEC_MODES.items():
        if any(m.startswith(prefix) for m in modes):
            ensure_codec(args.data, args.scale, args.work_dir, codec)
    info = machine()
    families = {family(m) for m in modes}
    print(f"machine: {info['cores']} cores ({info['cpu']}), CUDA {'yes' if info['cuda'] else 'no'}; "
          f"data: {args.data} x{args.scale}, gt_size {args.gt_size}, batch {args.batch}"
          f"{' (degrade-*, realesrgan-*: gt_size 256, batch 12)' if 'degrade' in families else ''}"
          f"{' (imagenet-*: JPEGs, gt_size 256)' if 'imagenet' in families else ''}"
          f"{' (trainner-*: PNG folders, lq_size 64 / gt_size 256, batch 16)' if 'trainner' in families else ''}, "
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
                print(f"  [{r + 1}/{args.repeat}] {mode:<25} FAILED: {str(exc).splitlines()[0]}", flush=True)
            else:
                runs[mode].append(result)
                print(f"  [{r + 1}/{args.repeat}] {mode:<25} {result['samples_per_s']:8.1f} samples/s "
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
        if c["met"] is None:
            print(f"info   {c['target']}: {c['value']} (no target)")
        else:
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
