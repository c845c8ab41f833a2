"""A Real-ESRNet option file, its degradation moved into the loader, trains through `dalisr train` on the CPU.

``model_type: SRModel`` (the degradation is no longer the model's job); the
rest is Real-ESRGAN's option file as dalisr ships it for the sample set.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
import torch
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
    """BasicSR's SRModel noting the shapes it trained on, and each iteration's LQ batch."""

    shapes: list[tuple] = []
    lqs: dict[int, object] = {}

    def optimize_parameters(self, current_iter):
        ShapeRecordingSRModel.shapes.append((tuple(self.lq.shape), tuple(self.gt.shape)))
        ShapeRecordingSRModel.lqs[current_iter] = self.lq.clone()
        super().optimize_parameters(current_iter)


if "ShapeRecordingSRModel" not in MODEL_REGISTRY:
    MODEL_REGISTRY.register(ShapeRecordingSRModel)


def test_realesrnet_options_train_with_the_degradation_in_the_loader(tmp_path, sample_set, monkeypatch):
    with open(IN_LOADER, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    assert opt["model_type"] == "SRModel" and opt["datasets"]["train"]["degradation"] is True
    monkeypatch.chdir(tmp_path)
    # a DALI worker reads the LMDB (as in training), so this process keeps no handle BasicSR could trip on
    path = _in_loader_options(tmp_path, sample_set, batch_size_per_gpu=2, num_worker_per_gpu=1)
    ShapeRecordingSRModel.shapes.clear()
    run_training(path, ["--force_yml", "num_gpu=auto", "logger:use_tb_logger=false",
                        "model_type=ShapeRecordingSRModel", "train:total_iter=2"])
    assert ShapeRecordingSRModel.shapes == [((2, 3, 64, 64), (2, 3, 256, 256))] * 2
    models = tmp_path / "experiments" / opt["name"] / "models"
    assert (models / "net_g_latest.pth").exists()


def _in_loader_options(tmp_path, sample_set, **train) -> str:
    """realesrnet_x4plus_sample_in_loader.yml in ``tmp_path`` (datasets/sample -> the sample set), its train
    section updated with ``train``; no val (the launcher's tests' business: keep these short)."""
    os.makedirs(tmp_path / "datasets")
    os.symlink(sample_set.root, tmp_path / "datasets" / "sample")
    with open(IN_LOADER, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    opt["datasets"]["train"].update(train)
    del opt["datasets"]["val"], opt["val"]
    path = tmp_path / "realesrnet_in_loader.yml"
    path.write_text(yaml.safe_dump(opt, sort_keys=False))
    return str(path)


def test_resumed_training_sees_the_noise_of_the_uninterrupted_run(tmp_path, sample_set, monkeypatch):
    """``noise: graph`` (a GPU's default): a run stopped after its checkpoint at iteration 2 and resumed with
    --auto_resume trains iterations 3 and 4 on the very LQ batches, noise included, of a run never stopped."""
    force = ["--force_yml", "num_gpu=auto", "logger:use_tb_logger=false", "model_type=ShapeRecordingSRModel",
             "logger:save_checkpoint_freq=2"]
    train = {"degradation": {"noise": "graph"}, "batch_size_per_gpu": 2, "num_worker_per_gpu": 1}
    runs = {}
    for name in ("whole", "stopped"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        path = _in_loader_options(tmp_path / name, sample_set, **train)
        ShapeRecordingSRModel.lqs.clear()
        if name == "whole":
            run_training(path, [*force, "train:total_iter=4"])
        else:
            run_training(path, [*force, "train:total_iter=2"])
            assert sorted(ShapeRecordingSRModel.lqs) == [1, 2]
            ShapeRecordingSRModel.lqs.clear()
            run_training(path, ["--auto_resume", *force, "train:total_iter=4"])
        runs[name] = dict(ShapeRecordingSRModel.lqs)
    assert sorted(runs["whole"]) == [1, 2, 3, 4] and sorted(runs["stopped"]) == [3, 4]
    for it in (3, 4):
        assert torch.equal(runs["stopped"][it], runs["whole"][it]), it
    assert not torch.equal(runs["whole"][3], runs["whole"][4])


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
