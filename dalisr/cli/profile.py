"""``dalisr profile``: run a configured loader and report throughput, CPU, memory and stage times."""

from __future__ import annotations

import json

import click

from .common import progress, user_errors


def format_report(report) -> str:
    """The report as the command prints it (the JSON holds the same numbers)."""
    r = report
    cpu, mem, st = r.cpu, r.memory, r.stages
    lines = [
        f"{r.config} on {r.device}: {r.batches} batches of {r.batch_size} after {r.warmup} warm-up "
        f"(load average {', '.join(f'{x:.2f}' for x in r.load_average)})",
        f"  source        {r.source}",
        f"  throughput    {r.samples_per_s:.1f} samples/s, {r.batches_per_s:.2f} batches/s ({r.wall_s:.2f} s)",
        f"  bytes         {r.encoded_mb_per_s:.1f} MB/s read from the store, "
        f"{r.decoded_mb_per_s:.1f} MB/s of decoded pixels",
        f"  cpu           {cpu['util_percent']:.0f}% of one core ({cpu['machine_percent']:.0f}% of {cpu['cores']} "
        f"cores): main {cpu['main_s']:.2f} s, {cpu['workers']} workers {cpu['workers_s']:.2f} s; "
        f"{st['cpu_ms_per_sample']:.2f} ms CPU per sample ({st['workers_cpu_ms_per_sample']:.2f} in the workers)",
        f"  memory        peak RSS {mem['peak_rss_mb']:.0f} MB (main {mem['main_hwm_mb']:.0f} + workers "
        f"{mem['workers_hwm_mb']:.0f}; sampled {mem['sampled_peak_rss_mb']:.0f})"
        + ("" if mem.get("gpu_used_mb") is None else
           f"; GPU {mem['gpu_used_mb']:.0f} MB in use (PyTorch peak {mem['gpu_torch_peak_mb']:.0f})"),
        *([f"  page cache    {r.page_cache['resident_fraction']:.0%} of the data resident at the start "
           f"({r.page_cache['bytes'] / 1e6:.0f} MB in {r.page_cache['files']} files probed; "
           "`dalisr warm-cache` reads it in)"] if r.page_cache else []),
        "  stages (per sample, in the workers' source):",
        f"    source      {st['source_ms_per_sample']:.3f} ms = store read {st['source_read_ms_per_sample']:.3f} + "
        f"decode/crop {st['source_decode_ms_per_sample']:.3f} + other {st['source_other_ms_per_sample']:.3f}",
        f"  waiting for batches: {st['wait_s']:.2f} s ({st['wait_ms_per_batch']:.1f} ms per batch)",
        "  main-process threads (CPU s over the measured batches):",
    ]
    for name, secs in st["threads_cpu_s"].items():
        lines.append(f"    {name:<30} {secs:.2f}")
    if st.get("seek_mismatches"):
        lines.append(f"  png-seek: {st['seek_mismatches']} values whose restart index did not fit their data were "
                     "decoded from the top (right pixels, slower). Fix: re-create the LMDB with `dalisr convert`")
    lines.append("  note: " + r.notes[0])
    return "\n".join(lines)


@click.command("profile")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--iters", "-n", default=50, show_default=True, type=click.IntRange(min=1),
              help="Batches to measure (after the warm-up).")
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(min=0),
              help="Batches run first and not measured (pipeline start, first reads).")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "gpu"]),
              help="Where the pipeline runs (auto: gpu where PyTorch sees CUDA).")
@click.option("--section", default=None, help="Dataset section of a whole options file (default: train).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the order, crops and flips.")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False),
              help="Also write the numbers to this JSON file.")
@click.option("--num-threads", default=None, type=click.IntRange(min=1), help="Override DALI's CPU threads.")
@click.option("--py-workers", default=None, type=click.IntRange(min=0),
              help="Override DALI's Python worker processes (num_worker_per_gpu).")
@click.option("--prefetch", default=None, type=click.IntRange(min=1), help="Override DALI's prefetch queue depth.")
@click.option("--png-window/--no-png-window", default=None,
              help="Decode PNG training crops row-wise in the source (default) or in DALI (ROI decoding).")
@user_errors
def profile(config, iters, warmup, device, section, seed, json_path, num_threads, py_workers, prefetch,
            png_window) -> None:
    """Run the loader of CONFIG for --warmup + --iters batches and report where the time goes.

    Prints samples/s, batches/s, MB/s read from the store and of decoded pixels,
    CPU use of the main process and DALI's workers, peak RSS, and stage times
    (the source's store reads and decode/crop per sample, CPU per thread group,
    time waiting for batches). DALI reports no per-operator times on CPU; see
    the notes in the JSON.
    """
    from ..diagnose.profile import profile_loader

    runtime = {k: v for k, v in {"num_threads": num_threads, "py_num_workers": py_workers,
                                 "prefetch_queue_depth": prefetch, "png_window": png_window}.items()
               if v is not None}
    with progress(warmup + iters, "batches", unit="batch") as bar:
        report = profile_loader(config, iters=iters, warmup=warmup, device=device, section=section, seed=seed,
                                runtime=runtime, progress=bar.update)
    click.echo(format_report(report))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(report.to_dict(), f, indent=2)
        click.echo(f"wrote {json_path}")


def register(group: click.Group) -> None:
    group.add_command(profile)
