"""RealESRGANDataset on a GPU: the same batches as on the CPU, and BasicSR's real RealESRNetModel eats them.

``RealESRNetModel`` calls ``.cuda()`` in its constructor, so its ``feed_data``
(the model's own second-order degradation from ``kernel1``, ``kernel2``,
``sinc_kernel``) can only be run here. It needs an importable ``basicsr``
(with a torchvision it accepts); where there is none the test says so and skips.
"""

from __future__ import annotations

import os

import pytest
import torch
import yaml

from dalisr import build_dataloader

pytestmark = pytest.mark.gpu

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, "pipelines", "realesrnet_x4plus_sample.yml")
KEYS = ("gt", "kernel1", "kernel2", "sinc_kernel")


def _options(sample_set) -> dict:
    with open(SAMPLE, encoding="utf-8") as f:
        opt = yaml.safe_load(f.read().replace("datasets/sample", sample_set.root))
    opt["datasets"]["train"]["dataroot_gt"] = sample_set.gt_lmdb
    return opt


def test_gpu_batches_match_cpu_batches(sample_set):
    train = _options(sample_set)["datasets"]["train"]
    cpu = build_dataloader(train, device="cpu", seed=3, shard_id=0, num_shards=1)
    expected = list(cpu)
    cpu.close()
    gpu = build_dataloader(train, device="gpu", seed=3, shard_id=0, num_shards=1)
    got = list(gpu)
    gpu.close()
    assert len(got) == len(expected) == 2
    for a, b in zip(got, expected):
        assert a["gt"].is_cuda and tuple(a["gt"].shape) == (4, 3, 400, 400)
        assert a["gt_path"] == b["gt_path"]
        for key in KEYS:
            torch.testing.assert_close(a[key].cpu(), b[key], atol=1e-6, rtol=0)


def test_basicsr_realesrnet_model_feed_data(sample_set):
    try:
        from basicsr.models.realesrnet_model import RealESRNetModel
    except ImportError as exc:  # no basicsr, or a torchvision it cannot import
        pytest.skip(f"basicsr's RealESRNetModel does not import here: {exc}")
    opt = _options(sample_set)
    opt.update(is_train=True, dist=False, num_gpu=1, rank=0, world_size=1, auto_resume=False)
    opt["path"].update(experiments_root=str(sample_set.root), models=str(sample_set.root),
                       training_states=str(sample_set.root), log=str(sample_set.root),
                       visualization=str(sample_set.root))
    model = RealESRNetModel(opt)
    loader = build_dataloader(opt["datasets"]["train"], device="gpu", seed=0, shard_id=0, num_shards=1)
    try:
        batch = next(iter(loader))
    finally:
        loader.close()
    model.feed_data(batch)
    torch.testing.assert_close(model.kernel1.cpu(), batch["kernel1"].cpu())
    torch.testing.assert_close(model.sinc_kernel.cpu(), batch["sinc_kernel"].cpu())
    assert tuple(model.gt.shape) == (4, 3, 256, 256) and tuple(model.lq.shape) == (4, 3, 64, 64)
    assert model.lq.is_cuda and float(model.lq.min()) >= 0 and float(model.lq.max()) <= 1
    model.optimize_parameters(1)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in model.get_current_log().values())
