"""A full disk: prep commands refuse to start, or stop with the space needed, and leave nothing half-written.

Each test mounts its own 2 MB tmpfs (root only; skipped where mounting is not permitted).
"""

from __future__ import annotations

import os
import subprocess

import cv2
import numpy as np
import pytest

from tests.test_faults_interrupt import dalisr


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "small_disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder) -> None:
    """Fill the disk of ``folder`` to the last byte."""
    with open(os.path.join(folder, "filler"), "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    assert os.statvfs(folder).f_bavail == 0


def flat_pngs(folder, count: int, size: int) -> None:
    """Tiny files (PNG level 9 of flat colour) whose level-0 re-encoding is large."""
    folder.mkdir()
    for i in range(count):
        img = np.full((size, size, 3), i, np.uint8)
        cv2.imwrite(str(folder / f"{i:03d}.png"), img, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def finish(proc) -> tuple[int, str]:
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_create_lmdb_on_a_full_disk_is_refused_before_writing(tmp_path, small_disk):
    # LMDB on a full tmpfs dies of SIGBUS with no message: the free space is checked first
    src = tmp_path / "in"
    flat_pngs(src, 3, 64)
    fill(small_disk)
    code, err = finish(dalisr("create-lmdb", src, small_disk / "x.lmdb", "-j", 1))
    assert code == 1, err
    assert "not enough free space" in err and "Nothing was written" in err and "free at least" in err
    assert sorted(os.listdir(small_disk)) == ["filler"]


@pytest.mark.parametrize("workers", [1, 2])
def test_create_lmdb_that_fills_the_disk_stops_with_the_space_needed(tmp_path, small_disk, workers):
    src = tmp_path / "in"
    flat_pngs(src, 6, 384)  # ~2.6 MB at level 0, a few KB as files: the estimate passes, the disk fills
    code, err = finish(dalisr("create-lmdb", src, small_disk / "x.lmdb", "-j", workers, "--compress-level", 0))
    assert code == 1, err
    assert "Traceback" not in err
    assert "the disk is full or failing" in err and "free space" in err
    assert os.listdir(small_disk) == []


def test_make_lr_that_fills_the_disk_stops_and_leaves_nothing(tmp_path, small_disk):
    src = tmp_path / "hr"
    flat_pngs(src, 14, 512)  # LR 256x256 at level 0: ~200 KB each, 2.8 MB in all
    code, err = finish(dalisr("make-lr", src, small_disk / "lr", "--scale", 2, "-j", 2, "--compress-level", 0))
    assert code == 1, err
    assert "Traceback" not in err and "the disk is full or failing" in err
    assert os.listdir(small_disk) == []


def test_convert_into_a_too_small_disk_is_refused(sample_set, small_disk):
    code, err = finish(dalisr("convert", sample_set.gt_lmdb, small_disk / "gt_raw.lmdb", "--codec", "raw"))
    assert code == 1, err
    assert "not enough free space" in err
    assert os.listdir(small_disk) == []
