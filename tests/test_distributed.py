"""Real multi-process runs under torchrun (gloo, CPU): sharding, equal batch counts, resume after restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import pytest
import yaml

from tests.conftest import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "tools", "train_example.py")


@pytest.fixture(scope="module")
def config(sample_set, tmp_path_factory):
    path = tmp_path_factory.mktemp("ddp") / "x4.yml"
    path.write_text(yaml.safe_dump({
        "type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb, "dataroot_lq": sample_set.lq_lmdb(4),
        "io_backend": {"type": "lmdb"}, "gt_size": 32, "scale": 4, "use_hflip": True, "use_rot": True,
        "batch_size_per_gpu": 2, "num_worker_per_gpu": 1, "num_threads": 1}))
    return str(path)


def torchrun(*args: str, nproc: int = 2, device: str = "cpu") -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_addr",
           "127.0.0.1", "--master_port", str(free_port()), EXAMPLE, "--device", device, *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def read_log(prefix: str, ranks: int = 2) -> dict[int, list[dict]]:
    runs = {}
    for rank in range(ranks):
        with open(f"{prefix}.rank{rank}") as f:
            runs[rank] = [json.loads(line) for line in f]
    return runs


@pytest.fixture(scope="module")
def uninterrupted(config, tmp_path_factory):
    log = str(tmp_path_factory.mktemp("ddp_full") / "samples")
    torchrun("--config", config, "--epochs", "2", "--log-samples", log)
    return read_log(log)


def test_ranks_get_disjoint_complete_equal_shards(uninterrupted, sample_set):
    everything = set(sorted(n[:-4] for n in os.listdir(sample_set.gt_folder)))
    for epoch in (0, 1):
        per_rank = {r: [p for rec in uninterrupted[r] if rec["epoch"] == epoch for p in rec["paths"]] for r in (0, 1)}
        batches = {r: sum(rec["epoch"] == epoch for rec in uninterrupted[r]) for r in (0, 1)}
        assert batches[0] == batches[1] == 2
        assert not set(per_rank[0]) & set(per_rank[1])
        assert set(per_rank[0]) | set(per_rank[1]) == everything
    first = [p for rec in uninterrupted[0] if rec["epoch"] == 0 for p in rec["paths"]]
    second = [p for rec in uninterrupted[0] if rec["epoch"] == 1 for p in rec["paths"]]
    assert first != second  # reshuffled per epoch, consistently across ranks


def test_resume_after_restart_sees_exactly_the_rest(config, uninterrupted, tmp_path):
    log, ckpt = str(tmp_path / "samples"), str(tmp_path / "ckpt.pt")
    torchrun("--config", config, "--epochs", "2", "--log-samples", log, "--stop-after", "3", "--checkpoint", ckpt)
    head = read_log(log)
    assert all(len(head[r]) == 3 for r in (0, 1))  # stopped mid-epoch 1
    torchrun("--config", config, "--epochs", "2", "--log-samples", log, "--resume", ckpt)
    both = read_log(log)
    for rank in (0, 1):
        seen = defaultdict(list)
        for rec in both[rank]:
            seen[(rec["epoch"], rec["batch"])].append(rec["paths"])
        expected = {(rec["epoch"], rec["batch"]): [rec["paths"]] for rec in uninterrupted[rank]}
        assert dict(seen) == expected  # every batch once, with the same samples in the same order
