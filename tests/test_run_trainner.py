"""``dalisr run train.py -opt X.yml`` in a traiNNer-redux-shaped checkout (tests/repos/toytrainner.py, written
by the test: its seams, its strict schema, its auto-resume rule): the train section served by dalisr with its
semantics, dalisr's keys unseen by its schema, val left on its loader, resume mid-epoch from its training states."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import pytest
import yaml

from .conftest import TORCHVISION_STUBS
from .repos.toytrainner import write_toytrainner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """The toy checkout, and a data tree: 6 pairs, PNG GT with JPEG or WebP LQ of the same stem."""
    import skimage.data

    root = tmp_path_factory.mktemp("toytrainner")
    script = write_toytrainner(str(root))
    photo = skimage.data.astronaut()[..., ::-1]
    for i in range(6):
        gt = photo[i * 40:i * 40 + 96, i * 50:i * 50 + 128]
        os.makedirs(root / "data" / "hr", exist_ok=True)
        os.makedirs(root / "data" / "lr", exist_ok=True)
        cv2.imwrite(str(root / "data" / "hr" / f"p{i}.png"), gt)
        lq = cv2.resize(gt, (32, 24), interpolation=cv2.INTER_AREA)
        ext = (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]) if i % 2 else (".png", [])
        cv2.imwrite(str(root / "data" / "lr" / f"p{i}{ext[0]}"), lq, ext[1])
    return root, script


def _options(root, name: str, total_iter: int, train_extra=None, **top) -> str:
    train = {"name": "Train", "type": "pairedimagedataset", "dataroot_gt": ["data/hr"], "dataroot_lq": ["data/lr"],
             "lq_size": 16, "batch_size_per_gpu": 2, "num_worker_per_gpu": 1, "dataset_enlarge_ratio": 1,
             "bit_depth": "auto", "num_threads": 1, **(train_extra or {})}
    opt = {"name": name, "scale": 4, "num_gpu": "auto", "manual_seed": 3,
           "datasets": {"train": train, "val": {"name": "Val", "type": "pairedimagedataset",
                                                "dataroot_gt": ["data/hr"], "dataroot_lq": ["data/lr"],
                                                "dalisr": True}},
           "train": {"total_iter": total_iter}, "logger": {"save_checkpoint_freq": 2}, **top}
    path = root / f"{name}.yml"
    path.write_text(yaml.safe_dump(opt, sort_keys=False))
    return str(path)


def _run(root, script, *args) -> tuple[subprocess.CompletedProcess, list[dict]]:
    record = root / "record.jsonl"
    if record.exists():
        record.unlink()
    env = dict(os.environ, TOYTRAINNER_RECORD=str(record),
               PYTHONPATH=os.pathsep.join(p for p in (TORCHVISION_STUBS, ROOT) if p))
    proc = subprocess.run([sys.executable, "-m", "dalisr", "-v", "run", script, *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [json.loads(x) for x in record.read_text().splitlines()] if record.exists() else []
    return proc, lines


def test_trains_on_dalisr_batches_with_its_semantics(checkout):
    root, script = checkout
    proc, records = _run(root, script, "-opt", _options(root, "whole", 6))
    assert proc.returncode == 0, proc.stderr[-3000:]
    trained = [r for r in records if "iter" in r]
    assert [r["iter"] for r in trained] == [1, 2, 3, 4, 5, 6]
    assert all(r["lq_shape"] == [2, 3, 16, 16] and r["gt_shape"] == [2, 3, 64, 64] for r in trained)
    # its epoch arithmetic on dalisr's count: 6 samples / batch 2 = 3 iterations an epoch
    assert "label image pairs; iters per epoch 3; total epochs 2" in proc.stdout
    assert "datasets.train (type pairedimagedataset) is served by dalisr: 6 samples" in proc.stderr
    assert "datasets.val (type pairedimagedataset) stays on traiNNer-redux's own dataset and loader: its loop" \
        in proc.stderr
    assert {r["val"]: r["loader"] for r in records if "val" in r} == {"Val": "DataLoader"}
    paths = {os.path.basename(p) for r in trained for p in r["gt_path"]}
    assert paths <= {f"p{i}.png" for i in range(6)} and len(paths) >= 4


def test_resume_continues_mid_epoch_with_the_same_batches(checkout):
    root, script = checkout
    _, whole = _run(root, script, "-opt", _options(root, "full", 7))
    proc, first = _run(root, script, "-opt", _options(root, "cut", 3))  # a checkpoint at 2, stopped after 3
    assert proc.returncode == 0, proc.stderr[-3000:]
    states = root / "experiments" / "cut" / "training_states"
    assert sorted(os.listdir(states)) == ["2.state", "2.state.dalisr"]
    proc, resumed = _run(root, script, "-opt", _options(root, "cut", 7), "--auto_resume")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dalisr: resuming epoch 0 at batch 2 of 3" in proc.stderr
    want = {r["iter"]: (r["gt_path"], r["lq"]) for r in whole if "iter" in r}
    got = {r["iter"]: (r["gt_path"], r["lq"]) for r in resumed if "iter" in r}
    assert sorted(got) == [3, 4, 5, 6, 7] and all(got[i] == want[i] for i in got)


def test_dalisr_false_keeps_its_loader_and_its_schema_never_sees_dalisr_keys(checkout):
    root, script = checkout
    proc, records = _run(root, script, "-opt", _options(root, "own", 2, {"dalisr": False, "bit_depth": 8}))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "datasets.train (type pairedimagedataset) stays on traiNNer-redux's own dataset and loader: dalisr: " \
           "false" in proc.stderr
    assert [r["iter"] for r in records if "iter" in r] == [1, 2]
    # without dalisr, its schema refuses dalisr's keys: the reason they are removed
    env = dict(os.environ, TOYTRAINNER_RECORD=str(root / "plain.jsonl"))
    plain = subprocess.run([sys.executable, script, "-opt", _options(root, "plain", 2)], cwd=root, env=env,
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode != 0 and "unknown field `bit_depth`" in plain.stderr


def test_dalisr_train_sends_a_trainner_file_to_dalisr_run(checkout):
    root, _ = checkout
    proc = subprocess.run([sys.executable, "-m", "dalisr", "train", "-opt", _options(root, "t", 2)], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "is a traiNNer-redux option file" in proc.stderr and "dalisr run train.py -opt" in proc.stderr
