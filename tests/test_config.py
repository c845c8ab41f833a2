"""Option loading: BasicSR dicts, dataset YAMLs and whole options files."""

from __future__ import annotations

import logging

import pytest
import yaml

from dalisr import DalisrError
from dalisr.config import load_dataset_options


def _paired(**extra):
    opt = {"name": "DIV2K", "type": "PairedImageDataset", "dataroot_gt": "a", "dataroot_lq": "b",
           "io_backend": {"type": "disk"}, "gt_size": 128, "scale": 4, "use_hflip": True, "use_rot": True}
    opt.update(extra)
    return opt


def test_whole_options_file_takes_train_or_named_section(tmp_path):
    full = {"name": "x", "scale": 4, "datasets": {
        "train": _paired(),
        "val": {"name": "v", "type": "PairedImageDataset", "dataroot_gt": "c", "dataroot_lq": "d",
                "io_backend": {"type": "disk"}}}}
    path = tmp_path / "train_EDSR.yml"
    path.write_text(yaml.safe_dump(full))
    cfg = load_dataset_options(str(path))
    assert cfg["dataroot_gt"] == "a" and cfg.phase == "train" and "datasets.train" in cfg.origin
    val = load_dataset_options(path, section="val")
    assert val.phase == "val" and val["scale"] == 4  # top-level scale copied as BasicSR does
    with pytest.raises(DalisrError, match="datasets.test_9"):
        load_dataset_options(path, section="test_9")


def test_missing_required_key_names_key_and_file(tmp_path):
    opt = _paired()
    del opt["dataroot_lq"]
    path = tmp_path / "ds.yml"
    path.write_text(yaml.safe_dump(opt))
    with pytest.raises(DalisrError) as err:
        load_dataset_options(path)
    assert "dataroot_lq" in str(err.value) and str(path) in str(err.value)


def test_gt_size_needed_only_for_training():
    with pytest.raises(DalisrError, match="gt_size"):
        load_dataset_options(_paired(gt_size=None))
    assert load_dataset_options(_paired(gt_size=None, phase="val")).phase == "val"


@pytest.mark.parametrize("key,value,words", [
    ("gt_size", "128", "'gt_size'"),
    ("use_hflip", 1, "'use_hflip'"),
    ("scale", True, "'scale'"),
    ("mean", [0.5, 0.5], "'mean'"),
    ("color", "rgb", "'color'"),
    ("io_backend", {"type": "s3"}, "io_backend.type"),
    ("gt_size", 130, "multiple of scale"),
])
def test_wrong_values_are_refused_with_the_key(key, value, words):
    with pytest.raises(DalisrError) as err:
        load_dataset_options(_paired(**{key: value}))
    assert words in str(err.value)


def test_unknown_keys_warn_once_each(caplog):
    with caplog.at_level(logging.WARNING, logger="dalisr"):
        cfg = load_dataset_options(_paired(foo=1, bar=2))
    msgs = [r.getMessage() for r in caplog.records]
    assert sum("'foo'" in m for m in msgs) == 1 and sum("'bar'" in m for m in msgs) == 1
    assert len(cfg.warnings) == 2


def test_memcached_keys_from_basicsr_are_accepted_with_a_warning(caplog):
    backend = {"type": "memcached", "server_list_cfg": "s.conf", "client_cfg": "c.conf", "sys_path": "/x"}
    with caplog.at_level(logging.WARNING, logger="dalisr"):
        load_dataset_options(_paired(io_backend=backend))
    assert sum("client_cfg" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(DalisrError, match="servers"):
        load_dataset_options(_paired(io_backend={"type": "memcached"}))


def test_lmdb_roots_must_end_in_lmdb():
    with pytest.raises(DalisrError, match=r"\.lmdb"):
        load_dataset_options(_paired(io_backend={"type": "lmdb"}))
