"""`dalisr preview` and `dalisr profile` on a Real-ESRNet option file with the degradation in the loader."""

from __future__ import annotations

import json

import cv2
import yaml
from click.testing import CliRunner

from dalisr.cli import main

from .test_degrade_loader import options


def test_preview_shows_gt_beside_degraded_lq_and_profile_measures(sample_set, tmp_path):
    path = tmp_path / "realesrnet.yml"
    path.write_text(yaml.safe_dump(options(sample_set)))
    out = tmp_path / "pairs.png"
    result = CliRunner().invoke(main, ["preview", str(path), "--out", str(out), "--rows", "2"])
    assert result.exit_code == 0, result.output
    sheet = cv2.imread(str(out))
    assert sheet.shape == (2 * 256 + 4, 2 * 256 + 4, 3)  # two rows of [GT 256 | LQ 64 shown at 256]
    gt, lq = sheet[:256, :256].astype(float), sheet[:256, 260:].astype(float)
    assert 5 < abs(gt - lq).mean() < 60  # degraded, yet the same picture
    report = tmp_path / "profile.json"
    result = CliRunner().invoke(main, ["profile", str(path), "--iters", "1", "--warmup", "0", "--device", "cpu",
                                       "--json", str(report)])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["samples_per_s"] > 0
