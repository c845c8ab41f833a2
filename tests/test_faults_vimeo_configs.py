"""pipelines/vimeo90k_*.yml work in BasicSR too: their meta_info_file gives clean keys to BasicSR's parsing."""

from __future__ import annotations

import glob
import os

import cv2
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from dalisr.cli import main
from dalisr.config import load_dataset_options
from dalisr.datasets import build_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEQUENCES = ["00001/0001", "00001/0002", "00002/0001"]


def basicsr_vimeo_keys(meta_info_file: str) -> list[str]:
    """How BasicSR's Vimeo90KDataset reads meta_info_file: the text before the first space of each line."""
    with open(meta_info_file) as fin:
        return [line.split(" ")[0] for line in fin]


@pytest.mark.parametrize("config", sorted(glob.glob(os.path.join(ROOT, "pipelines", "vimeo90k_*.yml"))),
                         ids=os.path.basename)
def test_vimeo_config_meta_info_works_in_basicsr_and_dalisr(tmp_path, monkeypatch, config):
    monkeypatch.chdir(tmp_path)
    opt = yaml.safe_load(open(config))
    assert not opt["meta_info_file"].endswith("sep_trainlist.txt")
    seq_root = tmp_path / "datasets/vimeo90k/vimeo_septuplet/sequences"
    for seq in SEQUENCES:
        for n in range(1, 8):
            path = seq_root / seq / f"im{n}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), np.full((8, 12, 3), n, np.uint8))
    train_list = tmp_path / "datasets/vimeo90k/vimeo_septuplet/sep_trainlist.txt"
    train_list.write_text("".join(f"{s}\n" for s in SEQUENCES))
    # the command the config's comment and docs/prepare.md give
    result = CliRunner().invoke(main, ["meta-info", str(seq_root), "--layout", "vimeo90k", "--train-list",
                                       str(train_list), "-o", opt["meta_info_file"]])
    assert result.exit_code == 0, result.output
    assert basicsr_vimeo_keys(opt["meta_info_file"]) == SEQUENCES
    assert f"-o {opt['meta_info_file']}" in open(os.path.join(ROOT, "docs", "prepare.md")).read()
    assert f"-o {opt['meta_info_file']}" in open(config).read()
    if opt["io_backend"]["type"] == "disk":
        lq_root = tmp_path / opt["dataroot_lq"]
        lq_root.mkdir(parents=True)
        for seq in SEQUENCES:
            (lq_root / seq).mkdir(parents=True)
        index = build_dataset(load_dataset_options(config))[0]
        assert sorted(index.name(i) for i in range(len(index))) == sorted(SEQUENCES)
