"""Paired dataset indexing: LMDB meta info, meta_info_file, folder scan with filename_tmpl."""

from __future__ import annotations

import os
import shutil

import pytest

from dalisr import DalisrError
from dalisr.config import load_dataset_options
from dalisr.datasets.paired import paired_dataset


def paired_index(cfg):
    """The samples of a paired dataset as objects."""
    return paired_dataset(cfg).samples


def _cfg(gt, lq, backend="disk", **extra):
    opt = {"type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq, "io_backend": {"type": backend},
           "gt_size": 128, "scale": 4}
    opt.update(extra)
    return load_dataset_options(opt)


def test_lmdb_index_from_meta_info(sample_set):
    samples = paired_index(_cfg(sample_set.gt_lmdb, sample_set.lq_lmdb(4), "lmdb"))
    assert [s.keys["gt"][0] for s in samples][:3] == ["0001_s001", "0001_s002", "0001_s003"]
    assert samples[0].paths == {"gt": "0001_s001", "lq": "0001_s001"}
    assert samples[0].shapes == {"gt": ((480, 480, 3),), "lq": ((120, 120, 3),)}


def test_lmdb_key_sets_that_differ_name_the_keys(sample_set, tmp_path):
    lq = tmp_path / "lq.lmdb"
    shutil.copytree(sample_set.lq_lmdb(4), lq)
    lines = (lq / "meta_info.txt").read_text().splitlines()
    (lq / "meta_info.txt").write_text("\n".join(lines[1:] + ["zz_extra.png (120,120,3) 1"]) + "\n")
    with pytest.raises(DalisrError) as err:
        paired_index(_cfg(sample_set.gt_lmdb, str(lq), "lmdb"))
    assert "0001_s001" in str(err.value) and "zz_extra" in str(err.value)


def test_folder_scan_with_filename_tmpl(sample_set, tmp_path):
    lq = tmp_path / "lq"
    lq.mkdir()
    for name in os.listdir(sample_set.lq_folder(4)):
        stem, ext = os.path.splitext(name)
        shutil.copy(os.path.join(sample_set.lq_folder(4), name), lq / f"{stem}x4{ext}")
    samples = paired_index(_cfg(sample_set.gt_folder, str(lq), filename_tmpl="{}x4"))
    assert len(samples) == 8
    assert samples[0].keys == {"gt": ("0001_s001.png",), "lq": ("0001_s001x4.png",)}
    assert samples[0].paths["lq"] == os.path.join(str(lq), "0001_s001x4.png")
    os.remove(lq / "0001_s002x4.png")
    with pytest.raises(DalisrError, match="0001_s002x4.png"):
        paired_index(_cfg(sample_set.gt_folder, str(lq), filename_tmpl="{}x4"))


def test_meta_info_file_gives_order_and_keys(sample_set, tmp_path):
    meta = tmp_path / "meta.txt"
    meta.write_text("0001_s003.png (480,480,3)\n0001_s001.png (480,480,3)\n")
    samples = paired_index(_cfg(sample_set.gt_folder, sample_set.lq_folder(2), meta_info_file=str(meta)))
    assert [s.keys["gt"][0] for s in samples] == ["0001_s003.png", "0001_s001.png"]


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "gt").mkdir()
    (tmp_path / "lq").mkdir()
    with pytest.raises(DalisrError, match="no samples"):
        paired_index(_cfg(str(tmp_path / "gt"), str(tmp_path / "lq")))
