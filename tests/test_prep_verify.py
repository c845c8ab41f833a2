"""verify: decode every image, compare with meta_info.txt, GT exactly scale x LQ."""

from __future__ import annotations

import shutil

import cv2
import lmdb
import numpy as np
from click.testing import CliRunner

from dalisr.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_sample_set_verifies_clean_paired_and_alone(sample_set):
    result = run("verify", sample_set.gt_lmdb, "--paired-with", sample_set.lq_lmdb(4), "--scale", 4)
    assert result.exit_code == 0 and "OK: 16 images checked" in result.output, result.output
    result = run("verify", sample_set.gt_folder, "--paired-with", sample_set.lq_folder(2), "--scale", 2)
    assert result.exit_code == 0, result.output


def test_scale_mismatch_is_reported(sample_set):
    result = run("verify", sample_set.gt_folder, "--paired-with", sample_set.lq_folder(4), "--scale", 3)
    assert result.exit_code == 1
    assert "Scale mismatches. GT (480, 480) is not 3x multiplication of LQ (120, 120)" in result.output
    assert "0001_s001" in result.output


def test_wrong_shape_in_meta_info_is_reported(sample_set, tmp_path):
    copy = tmp_path / "gt.lmdb"
    shutil.copytree(sample_set.gt_lmdb, copy)
    lines = (copy / "meta_info.txt").read_text().splitlines()
    lines[2] = lines[2].replace("(480,480,3)", "(480,400,3)")
    (copy / "meta_info.txt").write_text("\n".join(lines) + "\n")
    key = lines[2].split()[0][:-4]
    result = run("verify", copy)
    assert result.exit_code == 1
    assert f"key '{key}'" in result.output and "is (480,480,3) but the meta info says (480,400,3)" in result.output
    assert "1 problem\n" in result.output


def test_corrupt_value_missing_key_and_unpaired_keys(sample_set, tmp_path):
    gt = tmp_path / "gt.lmdb"
    shutil.copytree(sample_set.gt_lmdb, gt)
    env = lmdb.open(str(gt), map_size=1 << 26)
    with env.begin(write=True) as txn:
        txn.put(b"0001_s002", b"\x89PNG\r\n\x1a\n garbage")
        txn.delete(b"0001_s003")
    env.close()
    lq = tmp_path / "lq"
    shutil.copytree(sample_set.lq_folder(4), lq)
    (lq / "0001_s004.png").unlink()
    result = run("verify", gt, "--paired-with", lq, "--scale", 4)
    assert result.exit_code == 1
    assert "key '0001_s002'" in result.output and "does not decode" in result.output
    assert "key '0001_s003' is in" in result.output and "not in the LMDB" in result.output
    assert "have no pair" in result.output and "0001_s004" in result.output


def test_folder_against_a_meta_info_file_and_a_corrupt_file(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((6, 8, 3), np.uint8))
    (folder / "b.png").write_bytes(b"nope")
    meta = tmp_path / "meta.txt"
    meta.write_text("a.png (6,9,3)\nc.png (6,8,3)\n")
    result = run("verify", folder, "--meta-info", meta)
    assert result.exit_code == 1
    assert f"{folder / 'b.png'} does not decode" in result.output
    assert "(6,8,3) but the meta info says (6,9,3)" in result.output
    assert "c.png is in" in result.output


def test_bad_usage_is_a_clean_error(tmp_path, sample_set):
    result = run("verify", tmp_path / "nothing")
    assert result.exit_code == 1 and "does not exist" in result.output
    result = run("verify", sample_set.gt_folder, "--paired-with", sample_set.lq_folder(4))
    assert result.exit_code == 1 and "--scale" in result.output
