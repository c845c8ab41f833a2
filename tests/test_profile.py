"""``dalisr profile`` on the sample set: the report's fields exist and hold sane values."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from dalisr.cli import main
from dalisr.diagnose.profile import profile_loader
from dalisr.sources.stats import SourceStats, read_source_stats


def _config(sample_set, tmp_path, **extra):
    opt = {"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb, "dataroot_lq": sample_set.lq_lmdb(4),
           "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4, "use_hflip": True, "use_rot": True,
           "batch_size_per_gpu": 4, "num_worker_per_gpu": 1, "num_threads": 1}
    opt.update(extra)
    path = tmp_path / "x4.yml"
    path.write_text(yaml.safe_dump(opt))
    return str(path)


def _check(report: dict, iters: int, batch_size: int) -> None:
    assert report["batches"] == iters and report["samples"] == iters * batch_size
    for key in ("samples_per_s", "batches_per_s", "encoded_mb_per_s", "decoded_mb_per_s", "wall_s"):
        assert report[key] > 0, key
    assert abs(report["samples_per_s"] / report["batches_per_s"] - batch_size) < 0.01
    assert report["decoded_mb_per_s"] > report["encoded_mb_per_s"] / 10
    cpu = report["cpu"]
    assert cpu["util_percent"] > 0 and cpu["cores"] == os.cpu_count() and cpu["workers"] >= 1
    assert cpu["main_s"] >= 0 and cpu["workers_s"] >= 0
    mem = report["memory"]
    assert 50 < mem["peak_rss_mb"] < 20000 and mem["main_hwm_mb"] > 0 and mem["workers_hwm_mb"] > 0
    if report["device"] == "cpu":
        assert mem["gpu_used_mb"] is None and mem["gpu_torch_peak_mb"] is None
    else:  # the pipeline's pools and the batches live on the device
        # PyTorch's own allocator may hold nothing: DALI 2.4's iterator hands out tensors on DALI's device memory
        assert mem["gpu_used_mb"] > 0 and mem["gpu_torch_peak_mb"] >= 0
    stages = report["stages"]
    assert stages["source_samples"] > 0 and stages["source_ms_per_sample"] > 0
    assert stages["source_read_ms_per_sample"] >= 0 and stages["wait_s"] > 0
    assert stages["source_read_ms_per_sample"] + stages["source_decode_ms_per_sample"] <= \
        stages["source_ms_per_sample"] + 1e-3
    assert "python main thread" in stages["threads_cpu_s"]
    # the workers' share of the CPU per sample: the figure for "what the sources cost"
    samples = report["samples"]
    assert stages["workers_cpu_ms_per_sample"] == pytest.approx(1000 * cpu["workers_s"] / samples, abs=0.01)
    # (it may be 0: over two batches, workers that only read bytes can stay under the kernel's 10 ms CPU tick)
    assert 0 <= stages["workers_cpu_ms_per_sample"] <= stages["cpu_ms_per_sample"]
    assert report["notes"] and "per-operator" in report["notes"][0]


def test_profile_command_writes_json_with_sane_numbers(sample_set, tmp_path):
    out = tmp_path / "profile.json"
    # 3 batches of 4 from 8 samples: the profile runs across an epoch boundary
    result = CliRunner().invoke(main, ["profile", _config(sample_set, tmp_path), "--iters", "3", "--warmup", "1",
                                       "--device", "cpu", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "samples/s" in result.output and "peak RSS" in result.output and "store read" in result.output
    assert "in the workers)" in result.output
    report = json.loads(out.read_text())
    _check(report, iters=3, batch_size=4)
    assert report["device"] == "cpu" and report["source"].startswith("png window")
    # the sample LMDBs were just read: resident, measured on a bounded sample of their pages
    assert report["page_cache"]["files"] == 2 and 0 < report["page_cache"]["probed_pages"] <= 2 * 256
    assert 0.0 <= report["page_cache"]["resident_fraction"] <= 1.0 and "page cache" in result.output


def test_profile_of_the_dali_decode_path_counts_whole_images(sample_set, tmp_path):
    report = profile_loader(_config(sample_set, tmp_path), iters=2, warmup=1, device="cpu",
                            runtime={"png_window": False}).to_dict()
    _check(report, iters=2, batch_size=4)
    assert report["source"].startswith("encoded bytes")
    # whole 480x480 GT + 120x120 LQ decoded per sample (RGB)
    per_sample = report["decoded_mb_per_s"] * report["wall_s"] / report["samples"]
    assert abs(per_sample - (480 * 480 + 120 * 120) * 3 / 1e6) < 1e-3


def test_source_stats_sum_over_processes(tmp_path):
    stats = SourceStats(str(tmp_path))
    stats.add(samples=2, read_s=0.5)
    stats.add(samples=1)
    # another process with the pickled counter (a fork of this test process could deadlock on DALI's locks)
    code = ("import pickle, sys; s = pickle.loads(sys.stdin.buffer.read()); "
            "s.add(samples=10, encoded_bytes=100)")
    subprocess.run([sys.executable, "-c", code], input=pickle.dumps(stats), check=True)
    totals = read_source_stats(str(tmp_path))
    assert totals["samples"] == 13 and totals["read_s"] == 0.5 and totals["encoded_bytes"] == 100
