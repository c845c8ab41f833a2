"""Every ready config in pipelines/ is valid BasicSR dataset options."""

from __future__ import annotations

import glob
import os

import pytest

from dalisr.config import load_dataset_options

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "pipelines", "*.yml")))


def test_there_are_configs_for_div2k_x2_x3_x4_on_every_backend():
    names = {os.path.basename(p) for p in CONFIGS}
    for s in (2, 3, 4):
        for backend in ("disk", "lmdb", "memcached"):
            assert f"div2k_x{s}_{backend}.yml" in names


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_config_loads_without_warnings(path):
    cfg = load_dataset_options(path)
    assert cfg.warnings == []
    assert cfg.phase == "train"
