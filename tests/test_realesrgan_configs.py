"""pipelines/realesrnet_x4plus*.yml: Real-ESRGAN's own options, and the sample variant runs on the sample set."""

from __future__ import annotations

import os

import pytest
import yaml

from dalisr import build_dataloader
from dalisr.config import load_dataset_options
from dalisr.degrade.kernels import KernelOptions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FULL = os.path.join(ROOT, "pipelines", "realesrnet_x4plus.yml")
SAMPLE = os.path.join(ROOT, "pipelines", "realesrnet_x4plus_sample.yml")
# a Real-ESRGAN checkout (the realesrgan package has no option files); the variable tools/benchmodes/degrade.py reads
REAL_ESRGAN = os.path.join(os.environ.get("DALISR_REALESRGAN_SRC", ""), "options", "train_realesrnet_x4plus.yml")


def read(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def test_full_file_keeps_real_esrgans_options():
    if not os.environ.get("DALISR_REALESRGAN_SRC") or not os.path.exists(REAL_ESRGAN):
        pytest.skip("set DALISR_REALESRGAN_SRC to a Real-ESRGAN checkout to compare with its option file")
    ours, theirs = read(FULL), read(REAL_ESRGAN)
    assert ours["model_type"] == "RealESRNetModel" and ours["datasets"]["val"]["type"] == "PairedImageDataset"
    for key, value in theirs.items():
        if key not in ("datasets", "val"):
            assert ours[key] == value, key
    assert ours["datasets"]["train"] == theirs["datasets"]["train"]


def test_sample_variant_trains_from_the_sample_set(sample_set, tmp_path):
    with open(SAMPLE, encoding="utf-8") as f:
        text = f.read().replace("datasets/sample", sample_set.root).replace("num_worker_per_gpu: 2",
                                                                         "num_worker_per_gpu: 0")
    path = tmp_path / "options.yml"
    path.write_text(text)
    opt = yaml.safe_load(text)
    assert KernelOptions.from_options(opt["datasets"]["train"]) == KernelOptions.from_options(
        read(FULL)["datasets"]["train"])
    assert load_dataset_options(str(path)).warnings == []
    loader = build_dataloader(str(path), device="cpu", seed=0, shard_id=0, num_shards=1)
    try:
        batch = next(iter(loader))
    finally:
        loader.close()
    assert tuple(batch["gt"].shape) == (4, 3, 400, 400) and tuple(batch["sinc_kernel"].shape) == (4, 21, 21)
    val = build_dataloader(str(path), device="cpu", section="val", shard_id=0, num_shards=1)
    try:
        vbatch = next(iter(val))
    finally:
        val.close()
    assert tuple(vbatch["lq"].shape[-2:]) == tuple(s // 4 for s in vbatch["gt"].shape[-2:])
