"""``dalisr preview`` writes GT patches beside their nearest-upscaled LQ patches."""

from __future__ import annotations

import cv2
import numpy as np
import yaml
from click.testing import CliRunner

from dalisr.cli import main


def test_preview_writes_aligned_pairs(sample_set, tmp_path):
    cfg = tmp_path / "x4.yml"
    cfg.write_text(yaml.safe_dump({
        "type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb, "dataroot_lq": sample_set.lq_lmdb(4),
        "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4, "use_hflip": True, "use_rot": True,
        "batch_size_per_gpu": 4, "num_worker_per_gpu": 1}))
    out = tmp_path / "sheet.png"
    result = CliRunner().invoke(main, ["preview", str(cfg), "--out", str(out), "--rows", "3"])
    assert result.exit_code == 0, result.output
    sheet = cv2.imread(str(out))
    assert sheet.shape == (3 * 64 + 2 * 4, 64 + 4 + 64, 3)
    for r in range(3):
        top = r * 68
        gt, lq_up = sheet[top:top + 64, :64], sheet[top:top + 64, 68:]
        lq = lq_up[::4, ::4]
        assert np.array_equal(cv2.resize(lq, (64, 64), interpolation=cv2.INTER_NEAREST), lq_up)
        assert np.array_equal(cv2.resize(gt, (16, 16), interpolation=cv2.INTER_AREA), lq)


def test_preview_reports_a_bad_config_cleanly(tmp_path):
    cfg = tmp_path / "bad.yml"
    cfg.write_text("type: PairedImageDataset\nio_backend: {type: disk}\n")
    result = CliRunner().invoke(main, ["preview", str(cfg), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "missing key 'dataroot_gt'" in result.output
