"""Prep commands stopped by Ctrl-C (once or twice), SIGTERM or SIGKILL: they end, and leave nothing behind."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import cv2
import numpy as np
import pytest

from tests.conftest import default_sigint
from tests.test_prep_lmdb import committed
from tests.test_shutdown import processes_with

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dalisr(*args, marker: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=ROOT)
    if marker:
        env["DALISR_TEST_MARKER"] = marker
    return subprocess.Popen([sys.executable, "-m", "dalisr", *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint, cwd=ROOT)


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def no_process_left(marker: str) -> bool:
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return processes_with(marker) == []


POOL_SCRIPT = textwrap.dedent("""
    from dalisr.prep.pool import ordered_map

    def big(i):
        return bytes(16 * 1024 * 1024)

    if __name__ == "__main__":
        for attempt in range(8):
            try:
                for result in ordered_map(big, range(64), 4):
                    raise ValueError("the consumer fails")
            except ValueError:
                print("ended", attempt, flush=True)
""")


def test_leaving_ordered_map_while_workers_send_large_results_never_hangs(tmp_path):
    # multiprocessing.Pool.terminate() waits for its result queue's lock, which a worker
    # sending a large result holds forever once nobody reads: a hang in about half the tries
    script = tmp_path / "pool_script.py"
    script.write_text(POOL_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script)], env=dict(os.environ, PYTHONPATH=ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"ordered_map hung after {out.count('ended')} of 8 tries")
    assert proc.returncode == 0, err
    assert out.count("ended") == 8


def noise_pngs(folder, count: int, size: int) -> None:
    folder.mkdir()
    for i in range(count):
        img = np.random.default_rng(i).integers(0, 256, (size, size, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i:03d}.png"), img, [cv2.IMWRITE_PNG_COMPRESSION, 0])


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_create_lmdb_with_large_values_ends_and_leaves_nothing(tmp_path, presses):
    src, out = tmp_path / "big", tmp_path / "big.lmdb"
    noise_pngs(src, 24, 384)  # 440 KB values: more than a pipe holds
    marker = uuid.uuid4().hex
    proc = dalisr("create-lmdb", src, out, "-j", 4, "--batch", 1, "--compress-level", 0, marker=marker)
    try:
        wait_for(lambda: committed(out) >= 2, proc, "create-lmdb never committed 2 images")
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Stopped by Ctrl-C" in err
    assert not os.path.exists(out) and not glob.glob(str(out) + ".partial-*")
    assert no_process_left(marker)


def fifo_input(tmp_path, count: int = 6):
    """A folder of small PNGs whose last "image" is a FIFO: reading it blocks, so the run stops there."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(count):
        cv2.imwrite(str(src / f"{i:03d}.png"), np.full((16, 16, 3), i, np.uint8))
    os.mkfifo(src / "999.png")
    return src


def run_until_fifo(proc: subprocess.Popen, fifo: str) -> int:
    """Wait until ``proc`` reads the FIFO; the write end's descriptor (close it to let the run go on)."""
    fd = None

    def opened() -> bool:
        nonlocal fd
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return False
        return True

    wait_for(opened, proc, "the command never reached the FIFO")
    return fd


COMMANDS = {
    "create-lmdb": (["create-lmdb", "{src}", "{out}.lmdb", "-j", "1", "--batch", "1"], "{out}.lmdb.partial-*"),
    "make-lr": (["make-lr", "{src}", "{out}", "--scale", "2", "-j", "1"], ".{name}.partial-*"),
    "extract-subimages": (["extract-subimages", "{src}", "{out}", "--crop-size", "8", "--step", "8", "-j", "1"],
                          ".{name}.partial-*"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_sigterm_stops_a_prep_command_cleanly(tmp_path, command):
    src = fifo_input(tmp_path)
    out = tmp_path / "out"
    args, partial = COMMANDS[command]
    proc = dalisr(*[a.format(src=src, out=out) for a in args])
    fd = run_until_fifo(proc, str(src / "999.png"))
    try:
        assert glob.glob(str(tmp_path / partial.format(out=out, name="out")))  # the staging folder is there
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        os.close(fd)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Stopped by SIGTERM" in err and "Traceback" not in err
    assert not glob.glob(str(tmp_path / "out*")) and not glob.glob(str(tmp_path / ".out*"))


@pytest.mark.parametrize("command", ["create-lmdb", "make-lr"])
def test_a_rerun_removes_what_a_killed_run_left(tmp_path, command):
    src = fifo_input(tmp_path)
    out = tmp_path / "out"
    args, partial = COMMANDS[command]
    args = [a.format(src=src, out=out) for a in args]
    proc = dalisr(*args)
    fd = run_until_fifo(proc, str(src / "999.png"))
    proc.kill()  # SIGKILL: no cleanup can run
    proc.wait()
    os.close(fd)
    left = glob.glob(str(tmp_path / partial.format(out=out, name="out")))
    assert left
    os.remove(src / "999.png")
    rerun = dalisr(*args)
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert not any(os.path.exists(p) for p in left)
    assert "left by an interrupted earlier run" in err


def test_a_file_name_with_a_space_is_refused_before_writing(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("001.png", "0 03.png"):
        cv2.imwrite(str(src / name), np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "x.lmdb"
    proc = dalisr("create-lmdb", src, out, "-j", 1)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "'0 03.png'" in err and "contain spaces" in err and "rename" in err
    assert os.listdir(tmp_path) == ["in"]


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("save_as", ["folder", "lmdb"])
def test_tfrecords_to_images_removes_leftovers_of_a_killed_run(tmp_path, save_as):
    from tests.test_prep_tfrecord import ffhq_record, rgb_images, run

    path = tmp_path / "ffhq-r05.tfrecords"
    path.write_bytes(b"".join(ffhq_record(img) for img in rgb_images(2, 32)))
    out = tmp_path / ("faces.lmdb" if save_as == "lmdb" else "faces")
    stale = tmp_path / (f"{out.name}.partial-{dead_pid()}" if save_as == "lmdb" else f".faces.partial-{dead_pid()}")
    stale.mkdir()
    (stale / "data.mdb").write_bytes(b"half")
    result = run("tfrecords-to-images", str(path), out, "--log-resolution", 5, "--save-as", save_as, "-j", 1)
    assert result.exit_code == 0, result.output
    assert not stale.exists() and out.exists()


def test_convert_removes_leftovers_of_a_killed_run_and_keeps_a_live_runs(sample_set, tmp_path):
    out = tmp_path / "raw.lmdb"
    stale = tmp_path / f"raw.lmdb.partial-{dead_pid()}"
    live = tmp_path / f"raw.lmdb.partial-{os.getppid()}"  # a running process's: not ours to remove
    for folder in (stale, live):
        folder.mkdir()
    proc = dalisr("convert", sample_set.lq_lmdb(4), out, "--codec", "raw")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert not stale.exists() and live.exists() and out.exists()
