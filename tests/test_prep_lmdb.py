"""create-lmdb read back with plain lmdb + cv2, key rules, failures and Ctrl-C."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time

import cv2
import lmdb
import numpy as np
import pytest
from click.testing import CliRunner

from dalisr.cli import main
from tests.conftest import default_sigint

DALISR = os.path.join(os.path.dirname(sys.executable), "dalisr")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def noise(h: int, w: int, seed: int, channels: int = 3) -> np.ndarray:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def read_back(path) -> dict[str, bytes]:
    env = lmdb.open(str(path), readonly=True, lock=False, readahead=False)
    try:
        with env.begin() as txn:
            return {k.decode(): bytes(v) for k, v in txn.cursor()}
    finally:
        env.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_div2k_lmdb_holds_the_source_images_and_basicsr_meta_info(tmp_path, workers):
    src = tmp_path / "sub"
    src.mkdir()
    images = {"0001_s001": noise(24, 32, 1), "0001_s002": noise(24, 32, 2, channels=1), "0002_s001": noise(16, 8, 3)}
    for name, img in images.items():
        cv2.imwrite(str(src / f"{name}.png"), img)
    (src / "readme.txt").write_text("not an image")
    out = tmp_path / "sub.lmdb"
    result = run("create-lmdb", src, out, "--dataset", "div2k", "--compress-level", 4, "--workers", workers,
                 "--batch", 2)
    assert result.exit_code == 0, result.output
    stored = read_back(out)
    assert sorted(stored) == sorted(images)
    for key, img in images.items():
        np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(stored[key], np.uint8), cv2.IMREAD_UNCHANGED), img)
        assert stored[key] == cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 4])[1].tobytes()
    assert (out / "meta_info.txt").read_text().splitlines() == [
        "0001_s001.png (24,32,3) 4",
        "0001_s002.png (24,32,1) 4",
        "0002_s001.png (16,8,3) 4",
    ]
    assert not glob.glob(str(out) + ".partial-*")


def test_folder_dataset_takes_other_formats_and_default_level_1(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    img = noise(12, 12, 5)
    cv2.imwrite(str(src / "pic.bmp"), img)
    assert run("create-lmdb", src, tmp_path / "f.lmdb", "--dataset", "folder", "-j", 1).exit_code == 0
    expected = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
    assert read_back(tmp_path / "f.lmdb")["pic"] == expected
    assert (tmp_path / "f.lmdb" / "meta_info.txt").read_text() == "pic.png (12,12,3) 1\n"


def test_reds_keys_are_clip_slash_frame(tmp_path):
    src = tmp_path / "train_sharp"
    for clip in ("000", "001"):
        (src / clip).mkdir(parents=True)
        for frame in range(3):
            cv2.imwrite(str(src / clip / f"{frame:08d}.png"), noise(8, 12, frame))
    assert run("create-lmdb", src, tmp_path / "reds.lmdb", "--dataset", "reds", "-j", 1).exit_code == 0
    assert sorted(read_back(tmp_path / "reds.lmdb")) == [f"{c}/{f:08d}" for c in ("000", "001") for f in range(3)]
    lines = (tmp_path / "reds.lmdb" / "meta_info.txt").read_text().splitlines()
    assert lines[0] == "000/00000000.png (8,12,3) 1" and len(lines) == 6


def test_reds_frames_of_one_clip_must_share_a_size(tmp_path):
    src = tmp_path / "train"
    (src / "000").mkdir(parents=True)
    cv2.imwrite(str(src / "000" / "00000000.png"), noise(8, 12, 0))
    cv2.imwrite(str(src / "000" / "00000001.png"), noise(8, 10, 1))
    result = run("create-lmdb", src, tmp_path / "r.lmdb", "--dataset", "reds", "-j", 1)
    assert result.exit_code == 1 and "00000001.png" in result.output and "share one size" in result.output
    assert not os.path.exists(tmp_path / "r.lmdb")


@pytest.mark.parametrize("mode,frames", [("gt", [4]), ("lq", list(range(1, 8)))])
def test_vimeo90k_keys_follow_the_train_list(tmp_path, mode, frames):
    src = tmp_path / "sequences"
    for seq in ("00001/0001", "00001/0002", "00002/0001"):
        (src / seq).mkdir(parents=True)
        for j in range(1, 8):
            cv2.imwrite(str(src / seq / f"im{j}.png"), noise(4, 6, j))
    train_list = tmp_path / "sep_trainlist.txt"
    train_list.write_text("00001/0001\n00002/0001\n\n")  # 00001/0002 is not for training
    out = tmp_path / f"vimeo_{mode}.lmdb"
    result = run("create-lmdb", src, out, "--dataset", "vimeo90k", "--train-list", train_list, "--mode", mode, "-j", 1)
    assert result.exit_code == 0, result.output
    expected = [f"{seq}/im{j}" for seq in ("00001/0001", "00002/0001") for j in frames]
    assert sorted(read_back(out)) == sorted(expected)
    assert [line.split()[0] for line in (out / "meta_info.txt").read_text().splitlines()] == [
        f"{k}.png" for k in expected]


def test_vimeo90k_needs_the_train_list_and_its_frames(tmp_path):
    (tmp_path / "seq").mkdir()
    result = run("create-lmdb", tmp_path / "seq", tmp_path / "v.lmdb", "--dataset", "vimeo90k")
    assert result.exit_code == 1 and "--train-list" in result.output
    (tmp_path / "list.txt").write_text("00001/0001\n")
    result = run("create-lmdb", tmp_path / "seq", tmp_path / "v.lmdb", "--dataset", "vimeo90k",
                 "--train-list", tmp_path / "list.txt")
    assert result.exit_code == 1 and "00001/0001/im4.png" in result.output


def test_corrupt_image_missing_and_empty_folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), noise(8, 8, 0))
    (src / "b.png").write_bytes(cv2.imencode(".png", noise(8, 8, 1))[1].tobytes()[:40])  # truncated
    result = run("create-lmdb", src, tmp_path / "x.lmdb", "--dataset", "div2k", "-j", 1)
    assert result.exit_code == 1 and "b.png" in result.output and "Traceback" not in result.output
    assert not os.path.exists(tmp_path / "x.lmdb") and not glob.glob(str(tmp_path / "x.lmdb.partial-*"))
    result = run("create-lmdb", tmp_path / "absent", tmp_path / "x.lmdb")
    assert result.exit_code == 1 and "absent does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = run("create-lmdb", tmp_path / "empty", tmp_path / "x.lmdb")
    assert result.exit_code == 1 and "holds no image" in result.output


def test_existing_output_and_name_rules(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), noise(8, 8, 0))
    assert run("create-lmdb", src, tmp_path / "a.lmdb", "-j", 1).exit_code == 0
    result = run("create-lmdb", src, tmp_path / "a.lmdb", "-j", 1)
    assert result.exit_code == 1 and "--overwrite" in result.output
    assert run("create-lmdb", src, tmp_path / "a.lmdb", "--overwrite", "-j", 1).exit_code == 0
    result = run("create-lmdb", src, tmp_path / "a_db", "-j", 1)
    assert result.exit_code == 1 and ".lmdb" in result.output


def committed(out) -> int:
    """Entries committed so far in the LMDB being written beside ``out``."""
    partial = glob.glob(str(out) + ".partial-*")
    if not partial or not os.path.exists(os.path.join(partial[0], "data.mdb")):
        return 0
    env = lmdb.open(partial[0], readonly=True)
    try:
        return env.stat()["entries"]
    finally:
        env.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_while_writing_leaves_nothing_at_out(tmp_path, workers):
    src = tmp_path / "many"
    src.mkdir()
    for i in range(20):
        cv2.imwrite(str(src / f"{i:04d}.png"), noise(16, 16, i))
    # the last "image" is a FIFO: reading it blocks until we say so, so the run is
    # caught in the middle deterministically, with the first 20 images committed
    fifo = src / "9999.png"
    os.mkfifo(fifo)
    out = tmp_path / "many.lmdb"
    proc = subprocess.Popen([DALISR, "create-lmdb", str(src), str(out), "--batch", "1", "--workers", str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_sigint)
    writer = None
    try:
        deadline = time.monotonic() + 30
        while writer is None:  # opening a FIFO's write end without blocking works once its reader is there
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "create-lmdb never reached the last image"
                time.sleep(0.01)
        while committed(out) < 20:  # workers may still be ahead of the writer
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "create-lmdb never wrote the first 20 images"
            time.sleep(0.01)
        time.sleep(0.2)  # the commit is seen before the progress bar counts it: let the writer get to the FIFO
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if writer is not None:
            os.close(writer)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert b"Traceback" not in err, err.decode()
    assert b"20/21" in err  # the progress bar had got that far
    assert not os.path.exists(out)
    assert not glob.glob(str(out) + ".partial-*")
