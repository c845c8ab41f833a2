"""`dalisr train` on pipelines/edsr_imagenet_bicubic_x4_sample.yml: BasicSR's real SRModel trains from HR JPEGs
alone (BicubicFromGTDataset: the LQ made in the loader) and validates on whole images made the same way."""

from __future__ import annotations

import importlib.util
import logging
import os
import re

import pytest

if importlib.util.find_spec("basicsr") is None:
    pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')", allow_module_level=True)

from dalisr.integrations.basicsr import run_training  # noqa: E402
from dalisr.prep.sample_imagenet import make_imagenet_sample  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTIONS = os.path.join(ROOT, "pipelines", "edsr_imagenet_bicubic_x4_sample.yml")


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_sample_options_file_trains_from_hr_images_alone(tmp_path, monkeypatch):
    make_imagenet_sample(str(tmp_path / "datasets" / "sample" / "ImageNet"), count=12)
    monkeypatch.chdir(tmp_path)
    lines = Lines()
    logging.getLogger("basicsr").addHandler(lines)
    try:
        run_training(OPTIONS, ["--force_yml", "train:total_iter=2", "val:val_freq=2", "logger:print_freq=1",
                               "num_gpu=0"])
    finally:
        logging.getLogger("basicsr").removeHandler(lines)
    text = "\n".join(lines.lines)
    assert "Network [EDSR] is created." in text
    assert re.search(r"iter:\s+2,", text), text[-2000:]
    psnr = re.search(r"Validation ImageNet_sample_val\n\t # psnr: (\d+\.\d+)", text)
    assert psnr and 10 < float(psnr.group(1)) < 60
