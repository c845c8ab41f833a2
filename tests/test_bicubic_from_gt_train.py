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

from dalisr.integrations.basicsr.train_pipeline import run_training  # noqa: E402
from dalisr.prep.sample_imagenet import make_imagenet_sample  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTIONS = os.path.join(ROOT, "pipelines", "edsr_imagenet_bicubic_x4_sample.yml")


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def train_logged(tmp_path, monkeypatch, *force: str) -> str:
    """Run the sample options file in ``tmp_path`` (its ImageNet-like set made there); BasicSR's log lines."""
    make_imagenet_sample(str(tmp_path / "datasets" / "sample" / "ImageNet"), count=12)
    monkeypatch.chdir(tmp_path)
    lines = Lines()
    logging.getLogger("basicsr").addHandler(lines)
    try:
        run_training(OPTIONS, ["--force_yml", "num_gpu=0", *force])
    finally:
        logging.getLogger("basicsr").removeHandler(lines)
    return "\n".join(lines.lines)


def test_the_sample_options_file_trains_from_hr_images_alone(tmp_path, monkeypatch):
    text = train_logged(tmp_path, monkeypatch, "train:total_iter=2", "val:val_freq=2", "logger:print_freq=1")
    assert "Network [EDSR] is created." in text
    assert re.search(r"iter:\s+2,", text), text[-2000:]
    psnr = re.search(r"Validation ImageNet_sample_val\n\t # psnr: (\d+\.\d+)", text)
    assert psnr and 10 < float(psnr.group(1)) < 60


def test_served_where_a_repository_registers_its_own_imagenet_paired_dataset(tmp_path, monkeypatch):
    """HAT, DRCT and HMA register a class named ImageNetPairedDataset: dalisr still serves the type, and says so."""
    from dalisr.integrations.basicsr.script import import_packages

    package = tmp_path / "toyhat_imagenet"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from torch.utils import data\n"
        "from basicsr.utils.registry import DATASET_REGISTRY\n\n\n"
        "@DATASET_REGISTRY.register()\n"
        "class ImageNetPairedDataset(data.Dataset):  # the repository's own class, never used here\n"
        "    def __init__(self, opt):\n"
        "        raise AssertionError('the repository class was built')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import_packages(["toyhat_imagenet"])
    text = train_logged(tmp_path, monkeypatch, "train:total_iter=1", "val:val_freq=1",
                        "datasets:train:type=ImageNetPairedDataset")
    assert re.search(r"datasets.train \(type ImageNetPairedDataset\) is served by dalisr \(dalisr: true\), not by "
                     r"the class of that name that toyhat_imagenet registers", text), text[-3000:]
    assert re.search(r"datasets.train \(type ImageNetPairedDataset\) is served by dalisr: 12 samples from gt: disk "
                     r"store datasets/sample/ImageNet/train", text)
