"""pipelines/basicvsr_reds*.yml: whole BasicSR option files whose train and val sections dalisr serves."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from dalisr import build_dataloader
from dalisr.cli import main
from dalisr.config import load_dataset_options
from tests import reference as ref

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FULL = os.path.join(ROOT, "pipelines", "basicvsr_reds.yml")
SAMPLE = os.path.join(ROOT, "pipelines", "basicvsr_reds_sample.yml")


@pytest.mark.parametrize("path", [FULL, SAMPLE], ids=os.path.basename)
def test_both_sections_load_as_basicsr_writes_them(path):
    train = load_dataset_options(path, section="train")
    val = load_dataset_options(path, section="val")
    assert (train.type, train.phase, train["scale"]) == ("REDSRecurrentDataset", "train", 4)
    assert (val.type, val.phase, val["scale"]) == ("VideoRecurrentTestDataset", "val", 4)
    assert train.warnings == [] and val.warnings == []


def test_sample_variant_runs_on_data_make_sample_writes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["make-sample", "datasets/sample", "--limit", "1", "--no-lmdb", "--reds"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    loader = build_dataloader(SAMPLE, device="cpu", section="train")
    assert len(loader) == 100  # clips 001 and 002 (000 and 011 are REDS4), 10 frames each, x10, batch 2
    batch = next(iter(loader))
    loader.close()
    assert tuple(batch["gt"].shape) == (2, 5, 3, 132, 132) and tuple(batch["lq"].shape) == (2, 5, 3, 33, 33)
    for i in range(2):
        assert batch["key"][i][:3] in ("001", "002")
        for t in range(5):  # each LQ frame is the exact block mean of its GT frame
            gt8, lq8 = ref.to_uint8(batch["gt"][i, t]), ref.to_uint8(batch["lq"][i, t])
            assert np.array_equal(cv2.resize(gt8, (33, 33), interpolation=cv2.INTER_AREA), lq8)
    val = build_dataloader(SAMPLE, device="cpu", section="val")
    clips = list(val)
    val.close()
    assert [b["folder"] for b in clips] == [["000"], ["011"]]
    assert tuple(clips[0]["lq"].shape) == (1, 10, 3, 36, 48) and tuple(clips[0]["gt"].shape) == (1, 10, 3, 144, 192)
