"""A Real-ESRNet option file, its degradation moved into the loader, trains through `dalisr train` on the CPU.

``model_type: SRModel`` (the degradation is no longer the model's job); the
rest is Real-ESRGAN's option file as dalisr ships it for the sample set.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
import yaml

if importlib.util.find_spec("basicsr") is None:
    pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')", allow_module_level=True)

from dalisr.integrations.basicsr.importing import import_basicsr  # noqa: E402
from dalisr.integrations.basicsr.train_pipeline import run_training  # noqa: E402

import_basicsr()
from basicsr.models.sr_model import SRModel  # noqa: E402
from basicsr.utils.registry import MODEL_REGISTRY  # noqa: E402

PIPELINES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pipelines")
OPTIONS = os.path.join(PIPELINES, "realesrnet_x4plus_sample.yml")
IN_LOADER = os.path.join(PIPELINES, "realesrnet_x4plus_sample_in_loader.yml")  # the same, degradation: true


class ShapeRecordingSRModel(SRModel):
    """BasicSR's SRModel noting the shapes it trained on."""

    shapes: list[tuple] = []

    def optimize_parameters(self, current_iter):
        ShapeRecordingSRModel.shapes.append((tuple(self.lq.shape), tuple(self.gt.shape)))
        super().optimize_parameters(current_iter)


if "ShapeRecordingSRModel" not in MODEL_REGISTRY:
    MODEL_REGISTRY.register(ShapeRecordingSRModel)


def test_realesrnet_options_train_with_the_degradation_in_the_loader(tmp_path, sample_set, monkeypatch):
    os.makedirs(tmp_path / "datasets")
    os.symlink(sample_set.root, tmp_path / "datasets" / "sample")
    monkeypatch.chdir(tmp_path)
    with open(IN_LOADER, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    assert opt["model_type"] == "SRModel" and opt["datasets"]["train"]["degradation"] is True
    # a DALI worker reads the LMDB (as in training), so this process keeps no handle BasicSR could trip on
    opt["datasets"]["train"].update(batch_size_per_gpu=2, num_worker_per_gpu=1)
    del opt["datasets"]["val"], opt["val"]  # validation is the launcher's tests' business; keep this one short
    path = tmp_path / "realesrnet_in_loader.yml"
    path.write_text(yaml.safe_dump(opt, sort_keys=False))
    ShapeRecordingSRModel.shapes.clear()
    run_training(str(path), ["--force_yml", "num_gpu=auto", "logger:use_tb_logger=false",
                             "model_type=ShapeRecordingSRModel", "train:total_iter=2"])
    assert ShapeRecordingSRModel.shapes == [((2, 3, 64, 64), (2, 3, 256, 256))] * 2
    models = tmp_path / "experiments" / opt["name"] / "models"
    assert (models / "net_g_latest.pth").exists()


def test_launcher_passes_the_files_top_level_degradation_options(sample_set):
    """BasicSR hands the launcher the dataset section alone: the file's top-level options must still count."""
    from dalisr.integrations.basicsr.launcher import BasicsrLauncher

    with open(OPTIONS, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    section = dict(opt["datasets"]["train"], dataroot_gt=sample_set.gt_lmdb, degradation={"jpeg_range": [40, 50]},
                   phase="train", scale=4, num_worker_per_gpu=1)
    opt.update(noise_range2=[3, 4], rank=0, world_size=1, num_gpu=0)
    launcher = BasicsrLauncher(OPTIONS)
    launcher.opt = opt
    dataset = launcher.build_dataset(section)
    d = dataset.loader.dataset.degradation
    assert d.second.noise_range == (3.0, 4.0) and d.first.jpeg_range == (40.0, 50.0)
    dataset.loader.close()
