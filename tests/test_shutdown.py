"""An exception or Ctrl-C in the training loop leaves no DALI worker process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from tests.conftest import default_sigint

SCRIPT = textwrap.dedent("""
    import sys, time
    from dalisr import build_dataloader
    opt = {"type": "PairedImageDataset", "dataroot_gt": sys.argv[1], "dataroot_lq": sys.argv[2],
           "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4, "batch_size_per_gpu": 2,
           "num_worker_per_gpu": 2, "dataset_enlarge_ratio": 100}
    loader = build_dataloader(opt, device="cpu")
    for i, batch in enumerate(loader):
        if i == 1:
            print("READY", flush=True)
            if sys.argv[3] == "raise":
                sys.stdin.readline()  # the test has counted the workers
                raise RuntimeError("boom in the training loop")
            time.sleep(120)
""")


def processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("how", ["raise", "sigint", "sigterm", "sigkill"])
def test_no_worker_outlives_the_training_process(sample_set, tmp_path, how):
    marker = f"DALISR_TEST_MARKER={uuid.uuid4().hex}"
    env = dict(os.environ)
    env[marker.split("=")[0]] = marker.split("=")[1]
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), sample_set.gt_lmdb, sample_set.lq_lmdb(4), how],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.stdout.readline().strip() == "READY"
    assert len(processes_with(marker)) >= 3  # the trainer and its two DALI workers
    if how == "raise":  # counted before the exception, which ends the process (a race otherwise)
        proc.stdin.write("go\n")
        proc.stdin.flush()
    else:
        proc.send_signal({"sigint": signal.SIGINT, "sigterm": signal.SIGTERM, "sigkill": signal.SIGKILL}[how])
    proc.wait(timeout=30)
    assert proc.returncode != 0
    err = proc.stderr.read()
    if how == "raise":
        assert "boom in the training loop" in err
        assert "died" not in err, err  # DALI stopping its workers at exit is not a worker failure
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with(marker) == []
