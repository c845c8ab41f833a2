"""extract-subimages against numpy slicing of real PNGs, through the CLI."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from dalisr.cli import main


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def noise(h: int, w: int, seed: int = 0, channels: int = 3) -> np.ndarray:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_windows_equal_numpy_slices_with_the_extra_last_row_and_column(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    img = noise(70, 95)
    cv2.imwrite(str(src / "0001x4.png"), img)  # DIV2K LR name: x4 is dropped
    result = run("extract-subimages", src, tmp_path / "out", "--crop-size", 30, "--step", 20, "--thresh-size", 0,
                 "--workers", 1)
    assert result.exit_code == 0, result.output
    # rows: 0, 20, 40 (40 + 30 = 70: nothing left over, no extra row)
    # cols: 0, 20, 40, 60 (60 + 30 = 90 < 95: 5 left > 0) -> extra start 95 - 30 = 65
    tops, lefts = [0, 20, 40], [0, 20, 40, 60, 65]
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == [f"0001_s{i:03d}.png" for i in range(1, len(tops) * len(lefts) + 1)]
    index = 0
    for top in tops:
        for left in lefts:
            index += 1
            got = cv2.imread(str(tmp_path / "out" / f"0001_s{index:03d}.png"), cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(got, img[top:top + 30, left:left + 30])


def test_thresh_size_drops_a_small_remainder_and_workers_give_the_same_files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), noise(50, 50, 1))
    cv2.imwrite(str(src / "b.png"), noise(50, 50, 2, channels=1))  # gray stays gray
    # starts 0, 20; remainder 50 - (20 + 20) = 10: kept with thresh 0, dropped with thresh 10
    assert run("extract-subimages", src, tmp_path / "t0", "--crop-size", 20, "--step", 20, "-j", 2).exit_code == 0
    assert run("extract-subimages", src, tmp_path / "t10", "--crop-size", 20, "--step", 20, "--thresh-size", 10,
               "-j", 1).exit_code == 0
    assert len(os.listdir(tmp_path / "t0")) == 2 * 9 and len(os.listdir(tmp_path / "t10")) == 2 * 4
    last = cv2.imread(str(tmp_path / "t0" / "b_s009.png"), cv2.IMREAD_UNCHANGED)
    assert last.ndim == 2
    np.testing.assert_array_equal(last, noise(50, 50, 2, channels=1)[30:50, 30:50])


def test_compression_level_is_applied(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    img = np.tile(np.arange(64, dtype=np.uint8), (64, 1))
    cv2.imwrite(str(src / "r.png"), cv2.merge([img, img, img]))
    run("extract-subimages", src, tmp_path / "l0", "--crop-size", 64, "--step", 64, "--compression-level", 0, "-j", 1)
    run("extract-subimages", src, tmp_path / "l9", "--crop-size", 64, "--step", 64, "--compression-level", 9, "-j", 1)
    assert os.path.getsize(tmp_path / "l9" / "r_s001.png") < os.path.getsize(tmp_path / "l0" / "r_s001.png")


def test_div2k_preset_does_the_four_folders(tmp_path):
    root = tmp_path / "DIV2K"
    hr = root / "DIV2K_train_HR"
    hr.mkdir(parents=True)
    cv2.imwrite(str(hr / "0001.png"), noise(720, 960, 3))
    for s in (2, 3, 4):
        lr = root / "DIV2K_train_LR_bicubic" / f"X{s}"
        lr.mkdir(parents=True)
        cv2.imwrite(str(lr / f"0001x{s}.png"), noise(720 // s, 960 // s, s))
    result = run("extract-subimages", "--div2k-preset", root, "-j", 1)
    assert result.exit_code == 0, result.output
    hr_names = sorted(os.listdir(root / "DIV2K_train_HR_sub"))
    assert len(hr_names) == 2 * 3  # rows 0, 240; cols 0, 240, 480
    for s, crop in ((2, 240), (3, 160), (4, 120)):
        folder = root / "DIV2K_train_LR_bicubic" / f"X{s}_sub"
        assert sorted(os.listdir(folder)) == hr_names  # same names as HR: the pairs line up
        assert cv2.imread(str(folder / "0001_s006.png")).shape == (crop, crop, 3)
    again = run("extract-subimages", "--div2k-preset", root, "-j", 1)
    assert again.exit_code == 0 and again.output.count("exists already") == 4


def test_missing_empty_and_corrupt_inputs_are_clean_errors(tmp_path):
    missing = run("extract-subimages", tmp_path / "nope", tmp_path / "out")
    assert missing.exit_code == 1 and "Error:" in missing.output and "nope does not exist" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no image here")
    result = run("extract-subimages", empty, tmp_path / "out")
    assert result.exit_code == 1 and "holds no image" in result.output and str(empty) in result.output
    bad = tmp_path / "bad"
    bad.mkdir()
    cv2.imwrite(str(bad / "good.png"), noise(40, 40))
    (bad / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    result = run("extract-subimages", bad, tmp_path / "out", "--crop-size", 20, "--step", 20, "-j", 1)
    assert result.exit_code == 1 and "broken.png" in result.output and "not a readable image" in result.output
    assert not os.path.exists(tmp_path / "out")  # nothing half-written
    assert [p for p in os.listdir(tmp_path) if "partial" in p] == []


def test_existing_output_needs_overwrite(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), noise(40, 40))
    (tmp_path / "out").mkdir()
    result = run("extract-subimages", src, tmp_path / "out", "--crop-size", 20, "--step", 20)
    assert result.exit_code == 1 and "--overwrite" in result.output
    result = run("extract-subimages", src, tmp_path / "out", "--crop-size", 20, "--step", 20, "--overwrite", "-j", 1)
    assert result.exit_code == 0 and len(os.listdir(tmp_path / "out")) == 4


@pytest.mark.parametrize("args", [[], ["a"], ["a", "b", "--div2k-preset", "c"]])
def test_arguments_or_preset(args, tmp_path):
    result = run("extract-subimages", *args)
    assert result.exit_code != 0 and "Error" in result.output


def test_scale_suffixes_are_removed_one_after_the_other_as_basicsr():
    from dalisr.prep.subimages import subimage_name

    assert subimage_name("0001x4") == "0001"
    assert subimage_name("0001xx24") == "0001"  # 'x2' goes first, which leaves 'x4', which goes next
