"""regroup-reds: validation clips join training as 240-269, idempotently, never clobbering."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from dalisr.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def make_reds(tmp_path, val_clips=3, frames=2):
    train, val = tmp_path / "train_sharp", tmp_path / "val_sharp"
    for clip in ("000", "239"):
        (train / clip).mkdir(parents=True)
        (train / clip / "00000000.png").write_bytes(b"train " + clip.encode())
    for c in range(val_clips):
        (val / f"{c:03d}").mkdir(parents=True)
        for f in range(frames):
            (val / f"{c:03d}" / f"{f:08d}.png").write_bytes(f"val {c} {f}".encode())
    return train, val


@pytest.mark.parametrize("mode", ["copy", "hardlink", "symlink"])
def test_regroup_then_again_is_a_no_op(tmp_path, mode):
    train, val = make_reds(tmp_path)
    result = run("regroup-reds", train, val, "--mode", mode)
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(train)) == ["000", "239", "240", "241", "242"]
    assert (train / "241" / "00000001.png").read_bytes() == b"val 1 1"
    if mode == "symlink":
        assert os.path.islink(train / "240")
    elif mode == "hardlink":
        assert os.path.samefile(train / "240" / "00000000.png", val / "000" / "00000000.png")
    else:
        assert not os.path.samefile(train / "240" / "00000000.png", val / "000" / "00000000.png")
    before = {p: os.stat(train / p / "00000000.png").st_mtime_ns for p in ("240", "241", "242")}
    again = run("regroup-reds", train, val, "--mode", mode)
    assert again.exit_code == 0 and "0 clips added" in again.output and "3 already there" in again.output
    assert before == {p: os.stat(train / p / "00000000.png").st_mtime_ns for p in ("240", "241", "242")}
    assert sorted(os.listdir(val)) == ["000", "001", "002"]  # VAL untouched


def test_refuses_to_clobber_a_different_clip_and_changes_nothing(tmp_path):
    train, val = make_reds(tmp_path)
    (train / "242").mkdir()
    (train / "242" / "00000000.png").write_bytes(b"something else")
    result = run("regroup-reds", train, val, "--mode", "copy")
    assert result.exit_code == 1 and str(train / "242") in result.output and "differs" in result.output
    assert sorted(os.listdir(train)) == ["000", "239", "242"]  # 240 and 241 not added either
    assert (train / "242" / "00000000.png").read_bytes() == b"something else"


def test_a_missing_frame_counts_as_different(tmp_path):
    train, val = make_reds(tmp_path, val_clips=1)
    assert run("regroup-reds", train, val, "--mode", "copy").exit_code == 0
    (train / "240" / "00000001.png").unlink()
    assert run("regroup-reds", train, val, "--mode", "copy").exit_code == 1


def test_bad_folders(tmp_path):
    train, val = make_reds(tmp_path)
    result = run("regroup-reds", train, tmp_path / "nope")
    assert result.exit_code == 1 and "nope does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = run("regroup-reds", train, tmp_path / "empty")
    assert result.exit_code == 1 and "no clip folder" in result.output
