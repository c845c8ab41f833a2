"""Which schema an options file speaks, and traiNNer-redux's schema checked as it checks it (no pipeline runs)."""

from __future__ import annotations

import pytest
import yaml

from dalisr.config import load_dataset_options
from dalisr.dialect import BASICSR, TRAINNER, detect
from dalisr.errors import DalisrError
from dalisr.trainner_config import enlarge_ratio, strip_dalisr_keys

PAIRED = {"name": "t", "type": "PairedImageDataset", "dataroot_gt": "hr", "dataroot_lq": "lr",
          "io_backend": {"type": "disk"}, "gt_size": 128, "scale": 4}


@pytest.mark.parametrize("change, mark", [
    ({"type": "pairedimagedataset"}, "type 'pairedimagedataset'"),
    ({"lq_size": 32, "gt_size": None}, "'lq_size'"),
    ({"dataroot_gt": ["hr", "hr2"]}, "'dataroot_gt' is a list"),
])
def test_a_section_marks_its_file_as_trainners(change, mark):
    section = {k: v for k, v in {**PAIRED, **change}.items() if v is not None}
    kind, why = detect({"datasets": {"train": section}})
    assert kind == TRAINNER and mark in why
    assert detect({"datasets": {"train": PAIRED}})[0] == BASICSR


def test_top_level_keys_and_the_files_own_word():
    assert detect({"use_amp": True, "datasets": {"train": PAIRED}}) == (TRAINNER, "top-level key 'use_amp' is "
                                                                                   "traiNNer-redux's")
    said = {"dalisr": {"dialect": "basicsr"}, "datasets": {"train": {**PAIRED, "type": "pairedimagedataset"}}}
    assert detect(said)[0] == BASICSR
    assert detect({"datasets": {"train": PAIRED}}, explicit="trainner")[0] == TRAINNER
    with pytest.raises(DalisrError, match="'dalisr.dialect' at the top level is 'redux'"):
        detect({"dalisr": {"dialect": "redux"}})


def _trainner(tmp_path, section: dict, **top) -> object:
    path = tmp_path / "opt.yml"
    path.write_text(yaml.safe_dump({"name": "x", "scale": 4, **top, "datasets": {"train": section}}))
    return load_dataset_options(str(path))


def test_its_rules_are_applied(tmp_path):
    cfg = _trainner(tmp_path, {"name": "d", "type": "PairedImageDataset", "dataroot_gt": "~/hr",
                               "dataroot_lq": ["lr"], "lq_size": 48}, use_amp=False)
    assert cfg.dialect == TRAINNER and cfg.type == "pairedimagedataset"  # its registry lower-cases
    assert cfg["dataroot_gt"][0].endswith("/hr") and not cfg["dataroot_gt"][0].startswith("~")
    assert cfg["gt_size"] == 192 and cfg["use_hflip"] is True and cfg["use_rot"] is True
    assert cfg["dataset_enlarge_ratio"] == "auto" and enlarge_ratio(cfg.opt, 300, 16) == 106
    assert enlarge_ratio(cfg.opt, 100000, 16) == 1 and enlarge_ratio({"dataset_enlarge_ratio": 3}, 10, 2) == 3


@pytest.mark.parametrize("section, match", [
    ({"lq_size": 48, "gt_size": 192}, "exactly one of 'gt_size' and 'lq_size'"),
    ({}, "exactly one of 'gt_size' and 'lq_size'"),
    ({"lq_size": 48, "colour": "y"}, "unknown key 'colour'.*schema refuses it too"),
    ({"lq_size": "48"}, "'lq_size'.*must be int.*does not convert types"),
    ({"lq_size": 48, "use_hflip": 1}, "'use_hflip'.*must be bool"),
    ({"lq_size": 48, "type": "realesrgandataset", "kernel_range": [4, 16]}, "'kernel_range'.*odd low"),
    ({"lq_size": 48, "type": "pairedvideoclips"}, "'pairedvideoclips' is no dataset type traiNNer-redux"),
])
def test_its_schema_refuses_what_it_refuses(tmp_path, section, match):
    base = {"name": "d", "type": "pairedimagedataset", "dataroot_gt": ["hr"], "dataroot_lq": ["lr"]}
    with pytest.raises(DalisrError, match=match):
        _trainner(tmp_path, {**base, **section})


def test_dalisr_keys_are_stripped_for_its_schema_only():
    options = {"name": "x", "dalisr": {"dialect": "trainner"},
               "datasets": {"train": {"type": "pairedimagedataset", "dalisr": False, "bit_depth": 16, "lq_size": 8},
                            "val": {"type": "pairedimagedataset", "on_error": "skip"}}}
    stripped = strip_dalisr_keys(options)
    assert stripped == {"name": "x", "datasets": {"train": {"type": "pairedimagedataset", "lq_size": 8},
                                                  "val": {"type": "pairedimagedataset"}}}
    assert options["datasets"]["train"]["dalisr"] is False  # the caller's mapping is left as it was
