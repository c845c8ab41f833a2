"""meta-info: BasicSR's lines for folders and LMDBs, sizes from PNG headers."""

from __future__ import annotations

import cv2
import numpy as np
from click.testing import CliRunner

from dalisr.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def png(h: int, w: int, channels: int = 3) -> bytes:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return cv2.imencode(".png", np.full(shape, 7, np.uint8))[1].tobytes()


def test_div2k_layout_reads_headers_not_pixels(tmp_path):
    src = tmp_path / "sub"
    src.mkdir()
    (src / "0001_s002.png").write_bytes(png(480, 480))
    (src / "0001_s001.png").write_bytes(png(120, 96, channels=1))
    # a valid header with no pixel data behind it: decoding would fail, the header is enough
    (src / "0002_s001.png").write_bytes(png(33, 44)[:33])
    out = tmp_path / "meta.txt"
    result = run("meta-info", src, "-o", out, "--layout", "div2k")
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [
        "0001_s001.png (120,96,1)",
        "0001_s002.png (480,480,3)",
        "0002_s001.png (33,44,3)",
    ]
    result = run("meta-info", src, "-o", out)
    assert result.exit_code == 1 and "--overwrite" in result.output


def test_reds_layout_one_line_per_clip(tmp_path):
    src = tmp_path / "train_sharp"
    for clip, frames in (("000", 3), ("001", 2)):
        (src / clip).mkdir(parents=True)
        for f in range(frames):
            (src / clip / f"{f:08d}.png").write_bytes(png(18, 32))
    out = tmp_path / "reds.txt"
    assert run("meta-info", src, "-o", out, "--layout", "reds").exit_code == 0
    assert out.read_text() == "000 3 (18,32,3)\n001 2 (18,32,3)\n"


def test_reds_mixed_sizes_in_a_clip_are_named(tmp_path):
    src = tmp_path / "train"
    (src / "000").mkdir(parents=True)
    (src / "000" / "00000000.png").write_bytes(png(18, 32))
    (src / "000" / "00000001.png").write_bytes(png(18, 30))
    result = run("meta-info", src, "-o", tmp_path / "m.txt", "--layout", "reds")
    assert result.exit_code == 1 and "000/00000001.png" in result.output and "(18,30,3)" in result.output
    assert not (tmp_path / "m.txt").exists()


def test_vimeo90k_layout_and_train_list(tmp_path):
    src = tmp_path / "sequences"
    for seq in ("00001/0001", "00001/0002", "00002/0001"):
        (src / seq).mkdir(parents=True)
        for j in range(1, 8):
            (src / seq / f"im{j}.png").write_bytes(png(8, 14))
    out = tmp_path / "v.txt"
    assert run("meta-info", src, "-o", out, "--layout", "vimeo90k").exit_code == 0
    assert out.read_text().splitlines() == ["00001/0001 7 (8,14,3)", "00001/0002 7 (8,14,3)", "00002/0001 7 (8,14,3)"]
    (tmp_path / "list.txt").write_text("00002/0001\n00001/0001\n")
    assert run("meta-info", src, "-o", out, "--layout", "vimeo90k", "--train-list", tmp_path / "list.txt",
               "--overwrite").exit_code == 0
    assert out.read_text().splitlines() == ["00002/0001 7 (8,14,3)", "00001/0001 7 (8,14,3)"]


def test_lmdb_source_writes_its_own_meta_info_from_the_keys(tmp_path):
    src = tmp_path / "sub"
    src.mkdir()
    (src / "a.png").write_bytes(png(10, 20))
    (src / "b.png").write_bytes(png(30, 40, channels=1))
    assert run("create-lmdb", src, tmp_path / "s.lmdb", "--dataset", "div2k", "-j", 1).exit_code == 0
    (tmp_path / "s.lmdb" / "meta_info.txt").unlink()
    result = run("meta-info", tmp_path / "s.lmdb")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.lmdb" / "meta_info.txt").read_text() == "a.png (10,20,3)\nb.png (30,40,1)\n"


def test_folder_needs_output_and_errors_are_clean(tmp_path):
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "a.png").write_bytes(png(4, 4))
    result = run("meta-info", tmp_path / "f")
    assert result.exit_code == 1 and "-o FILE" in result.output
    result = run("meta-info", tmp_path / "missing", "-o", tmp_path / "m.txt")
    assert result.exit_code == 1 and "missing does not exist" in result.output
    (tmp_path / "f" / "bad.jpg").write_bytes(b"not a jpeg")  # not a PNG: decoded, and it fails
    result = run("meta-info", tmp_path / "f", "-o", tmp_path / "m.txt")
    assert result.exit_code == 1 and "bad.jpg" in result.output and "not a readable image" in result.output
