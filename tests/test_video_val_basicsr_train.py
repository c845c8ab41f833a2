"""``dalisr train`` end to end: pipelines/basicvsr_reds_sample.yml trains BasicSR's real BasicVSR on the sample
clips, and validates the same with its val section from BasicSR's loader, from dalisr's folders and from an LMDB
(see tests/test_video_val_basicsr.py for the CPU crutches the tests share: ``torch.zeros(device='cuda')`` made a CPU
tensor, a model that copies its input)."""

from __future__ import annotations

import importlib.util
import logging
import os
import re

import pytest
import torch
from click.testing import CliRunner

if importlib.util.find_spec("basicsr") is None:
    pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')", allow_module_level=True)

from basicsr.utils.registry import MODEL_REGISTRY  # noqa: E402

from dalisr.cli import main  # noqa: E402
from dalisr.integrations.basicsr.train_pipeline import run_training  # noqa: E402
from tests.test_video_val_basicsr import (  # noqa: E402,F401 - cuda_zeros_on_cpu is a fixture
    CopyingVideoRecurrentModel,
    cuda_zeros_on_cpu,
)

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pipelines",
                      "basicvsr_reds_sample.yml")


class RecordingVideoRecurrentModel(CopyingVideoRecurrentModel):
    """Keeps each validation's dataset type and per-frame metric table (BasicSR logs 4 decimals of its means)."""

    tables: list[tuple[str, dict]] = []

    def dist_validation(self, dataloader, current_iter, tb_logger, save_img):
        super().dist_validation(dataloader, current_iter, tb_logger, save_img)
        RecordingVideoRecurrentModel.tables.append((type(dataloader.dataset).__name__,
                                                    {f: t.cpu().clone() for f, t in self.metric_results.items()}))


if "RecordingVideoRecurrentModel" not in MODEL_REGISTRY:
    MODEL_REGISTRY.register(RecordingVideoRecurrentModel)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU run; tests/gpu has the GPU twin")
def test_dalisr_train_basicvsr_validates_as_basicsrs_loader(tmp_path, monkeypatch, cuda_zeros_on_cpu):  # noqa: F811
    """pipelines/basicvsr_reds_sample.yml for one iteration and a validation, its val section from BasicSR's
    loader (``dalisr: false``), from dalisr on the folders and from dalisr on an LMDB: the same metric tables.
    The val section is renamed REDS4 (BasicSR's VideoTestDataset accepts only Vid4, REDS4, REDSofficial), and
    the network is :class:`FramewiseNetX4`, a cheap stand-in (the next test trains the real BasicVSR)."""
    monkeypatch.chdir(tmp_path)
    make_sample_clips()
    val = "datasets/sample/REDS/REDS4"
    for role in ("GT", "sharp_bicubic"):
        result = CliRunner().invoke(main, ["create-lmdb", f"{val}/{role}", f"{val}/{role}.lmdb", "--dataset", "reds",
                                           "-j", "1"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    runs = {"basicsr": ["datasets:val:dalisr=false"], "disk": [],
            "lmdb": [f"datasets:val:dataroot_gt={val}/GT.lmdb", f"datasets:val:dataroot_lq={val}/sharp_bicubic.lmdb",
                     "datasets:val:io_backend:type=lmdb"]}
    common = ["--force_yml", "num_gpu=auto", "logger:use_tb_logger=false", "model_type=RecordingVideoRecurrentModel",
              "network_g:type=FramewiseNetX4", "train:total_iter=1", "val:val_freq=1", "datasets:val:name=REDS4",
              "logger:save_checkpoint_freq=100"]
    last = {}
    RecordingVideoRecurrentModel.tables.clear()
    for name, force in runs.items():
        run_training(SAMPLE, [*common, f"name=vval_{name}", *force])
        assert len(RecordingVideoRecurrentModel.tables) == 2  # at val_freq, and train_pipeline's after the end
        last[name] = RecordingVideoRecurrentModel.tables[-1]
        RecordingVideoRecurrentModel.tables.clear()
    (basicsr_type, basicsr_table), (disk_type, disk), (lmdb_type, lmdb) = last.values()
    assert (basicsr_type, disk_type, lmdb_type) == ("VideoRecurrentTestDataset", "IndexedVideoVal", "IndexedVideoVal")
    assert list(basicsr_table) == list(disk) == list(lmdb) == ["000", "011"]
    for folder, table in basicsr_table.items():
        assert table.shape == (10, 1) and bool((table > 0).all())
        assert torch.equal(disk[folder], table) and torch.equal(lmdb[folder], table), folder


def make_sample_clips() -> None:
    result = CliRunner().invoke(main, ["make-sample", "datasets/sample", "--limit", "1", "--no-lmdb", "--reds"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_sample_options_train_a_real_basicvsr(tmp_path, monkeypatch, cuda_zeros_on_cpu):  # noqa: F811
    """``dalisr train -opt pipelines/basicvsr_reds_sample.yml`` with its own network (BasicSR's BasicVSR, SpyNet
    untrained, nothing downloaded) for two iterations, the second training SpyNet too, and a validation: its
    132 px GT crops (33 px LQ) and the 36 x 48 LQ val clips are large enough for SpyNet (BasicVSR fails on 32 px
    or less: gt_size 64 did). The model is VideoRecurrentModel recording its metric tables (and copying its
    input, a CPU crutch)."""
    monkeypatch.chdir(tmp_path)
    make_sample_clips()
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    basicsr_logger = logging.getLogger("basicsr")  # BasicSR's log file opens only in a process's first run
    basicsr_logger.addHandler(handler)
    RecordingVideoRecurrentModel.tables.clear()
    try:
        result = CliRunner().invoke(main, ["train", "-opt", SAMPLE, "--force_yml", "train:total_iter=2",
                                           "train:fix_flow=2", "model_type=RecordingVideoRecurrentModel",
                                           "logger:print_freq=1", "logger:save_checkpoint_freq=2"],
                                    catch_exceptions=False)
    finally:
        basicsr_logger.removeHandler(handler)
    assert result.exit_code == 0, result.output
    log = "\n".join(records)
    assert re.search(r"iter:\s+2, lr:\(.*\] .*l_pix: \d", log), log
    assert "Train all the parameters." in log  # VideoRecurrentModel at iteration fix_flow: SpyNet trains too
    assert re.search(r"Validation REDS4_sample\n\t # psnr: \d+\.\d{4}\t # 000: .*\t # 011: ", log), log
    models = tmp_path / "experiments" / "BasicVSR_REDS_sample" / "models"
    params = torch.load(models / "net_g_2.pth", map_location="cpu")["params"]
    assert any(k.startswith("spynet.") for k in params) and any(k.startswith("backward_trunk.") for k in params)
    assert (models / "net_g_latest.pth").is_file()
    assert (tmp_path / "experiments" / "BasicVSR_REDS_sample" / "training_states" / "2.state").is_file()
    [(dataset, table)] = RecordingVideoRecurrentModel.tables  # train_pipeline's after the end (val_freq is 10)
    assert dataset == "IndexedVideoVal" and list(table) == ["000", "011"]
    for psnr in table.values():
        assert psnr.shape == (10, 1) and bool(torch.isfinite(psnr).all() and (psnr > 0).all())
