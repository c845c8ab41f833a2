"""BasicSR's video models validate on dalisr's indexed val sets exactly as on BasicSR's own datasets.

The clips of tests/video_clips.py (two clips, 5 and 3 frames), from folders and
from LMDBs. (a) Item by item, :func:`indexed_video_val` gives what BasicSR's
own VideoTestDataset / VideoRecurrentTestDataset give on the same folders:
keys, shapes, dtypes, values bit for bit, ``data_info`` and ``len``. (b) The
models' own validation (BasicSR's VideoBaseModel / EDVRModel and
VideoRecurrentModel with a real BasicVSR) reaches the same ``metric_results``
on both. BasicSR's ``dist_validation`` allocates its metric tables with
``torch.zeros(..., device='cuda')``; on a machine without CUDA the metric
tests wrap ``torch.zeros`` for their duration so that ``device='cuda'`` gives a
CPU tensor, and VideoRecurrentModel is run as a subclass whose ``feed_data``
copies its input as ``.to('cuda')`` would (see :class:`CopyingVideoRecurrentModel`);
nothing of BasicSR's is patched, and tests/gpu/test_gpu_video_val_basicsr.py runs
the real models unchanged on a GPU. tests/test_video_val_basicsr_train.py runs
``dalisr train`` end to end. EDVR's deformable convolution has no CPU kernel in
basicsr, so the EDVR-style model runs a small registered network instead.
"""

from __future__ import annotations

import importlib.util
import logging

import pytest
import torch

if importlib.util.find_spec("basicsr") is None:
    pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')", allow_module_level=True)

from dalisr.errors import DalisrError  # noqa: E402
from dalisr.integrations.basicsr.importing import import_basicsr  # noqa: E402
from dalisr.integrations.basicsr.launcher import BasicsrLauncher  # noqa: E402
from dalisr.integrations.basicsr.video_val import IndexedVideoVal, indexed_video_val  # noqa: E402
from dalisr.prep.convert import convert_lmdb  # noqa: E402
from tests.test_video_recurrent import SEQUENCES, vimeo  # noqa: E402,F401 - the fixture is used by name
from tests.video_clips import CLIP_LENGTHS, make_clips, val_options  # noqa: E402

import_basicsr()
import basicsr.data  # noqa: E402
from basicsr.data.video_test_dataset import (  # noqa: E402
    VideoRecurrentTestDataset,
    VideoTestDataset,
    VideoTestVimeo90KDataset,
)
from basicsr.models import build_model  # noqa: E402
from basicsr.models.video_recurrent_model import VideoRecurrentModel  # noqa: E402
from basicsr.utils.registry import ARCH_REGISTRY, MODEL_REGISTRY  # noqa: E402
from torch import nn  # noqa: E402

BASICSR_CLASSES = {"VideoTestDataset": VideoTestDataset, "VideoRecurrentTestDataset": VideoRecurrentTestDataset}
PSNR = {"psnr": {"type": "calculate_psnr", "crop_border": 0, "test_y_channel": False}}


class CentreFrameNetX4(nn.Module):
    """An EDVR-shaped network for the CPU: N x T x C x H x W in, the centre frame's x4 out."""

    def __init__(self, num_feat: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, num_feat, 3, 1, 1), nn.ReLU(), nn.Conv2d(num_feat, 48, 3, 1, 1),
                                  nn.PixelShuffle(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x[:, x.size(1) // 2])


class CopyingVideoRecurrentModel(VideoRecurrentModel):
    """BasicSR's VideoRecurrentModel that copies its input as ``.to('cuda')`` does on a GPU.

    Its dist_validation squeezes ``val_data['lq']`` in place after ``feed_data``; on the
    CPU ``.to('cpu')`` returns that same tensor, so ``self.lq`` would lose its batch axis.
    """

    def feed_data(self, data):
        super().feed_data({k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in data.items()})


class FramewiseNetX4(CentreFrameNetX4):
    """A cheap BasicVSR-shaped network: N x T x C x H x W in, every frame's x4 out, for tests that compare loaders,
    not networks (BasicVSR's SpyNet also needs LQ frames of more than 32 pixels a side). Ignores BasicVSR's options."""

    def __init__(self, num_feat: int = 8, **basicvsr_options) -> None:
        super().__init__(num_feat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        out = self.body(x.flatten(0, 1))
        return out.view(n, t, *out.shape[1:])


for arch in (CentreFrameNetX4, FramewiseNetX4):
    if arch.__name__ not in ARCH_REGISTRY:
        ARCH_REGISTRY.register(arch)
if "CopyingVideoRecurrentModel" not in MODEL_REGISTRY:
    MODEL_REGISTRY.register(CopyingVideoRecurrentModel)


@pytest.fixture(scope="module")
def clips(sample_set, tmp_path_factory):
    root = tmp_path_factory.mktemp("vid")
    make_clips(sample_set, root)
    return root


def equal_items(ours: dict, theirs: dict) -> None:
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        if isinstance(value, torch.Tensor):
            mine = ours[key]
            assert mine.dtype == value.dtype == torch.float32 and mine.shape == value.shape, key
            assert torch.equal(mine, value), key
        else:
            assert type(ours[key]) is type(value) and ours[key] == value, key


def without_paths(info: dict) -> dict:
    return {k: v for k, v in info.items() if not k.endswith("_path")}


# -- (a) item by item ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["VideoTestDataset", "VideoRecurrentTestDataset"])
@pytest.mark.parametrize("backend", ["disk", "lmdb"])
@pytest.mark.parametrize("cache", [True, False])
def test_items_equal_basicsrs_dataset(clips, dtype, backend, cache):
    recurrent = dtype == "VideoRecurrentTestDataset"
    num_frame = -1 if recurrent else 3  # as BasicSR's option files: -1 (every frame) for recurrent models
    # BasicSR's VideoRecurrentTestDataset needs cache_data; dalisr's reads without it too
    theirs = BASICSR_CLASSES[dtype](val_options(clips, dtype, cache_data=cache or recurrent, num_frame=num_frame))
    ours = indexed_video_val(val_options(clips, dtype, backend, cache_data=cache, num_frame=num_frame), "test")
    assert ours is not None and len(ours) == len(theirs) == (8 if dtype == "VideoTestDataset" else 2)
    if backend == "disk":
        assert ours.data_info == theirs.data_info
    else:  # LMDB: the paths are the keys
        assert without_paths(ours.data_info) == without_paths(theirs.data_info)
        assert ours.data_info["lq_path"][:2] == ["a/00000000", "a/00000001"]
    for _ in range(2):  # a second pass reads the cache (or the store again) and must give the same
        for i in range(len(theirs)):
            item, reference = ours[i], theirs[i]
            if backend == "lmdb" and "lq_path" in reference:
                assert item["lq_path"] == reference["lq_path"].rsplit("/", 2)[1] + "/" + \
                    reference["lq_path"].rsplit("/", 1)[1][:-4]
                item["lq_path"] = reference["lq_path"]
            equal_items(item, reference)
            item["lq"].unsqueeze_(0)  # what the models do to an item: must not reach the next read
    with pytest.raises(IndexError):
        ours[len(ours)]


def test_raw_codec_lmdb_serves_the_same_items(clips, tmp_path):
    """LMDBs converted to raw pixels (``dalisr convert``): read without decoding, the same tensors."""
    for role in ("GT", "BIx4"):
        convert_lmdb(clips / f"{role}.lmdb", tmp_path / f"{role}.lmdb", "raw")
    o = val_options(clips, "VideoRecurrentTestDataset", num_frame=-1, dataroot_gt=str(tmp_path / "GT.lmdb"),
                    dataroot_lq=str(tmp_path / "BIx4.lmdb"), io_backend={"type": "lmdb"})
    ours, theirs = indexed_video_val(o, "test"), VideoRecurrentTestDataset(val_options(clips, num_frame=-1))
    assert ours.raw == {"gt": True, "lq": True}
    for i in range(len(theirs)):
        equal_items(ours[i], theirs[i])


def test_memcached_serves_the_same_items(clips, memcached):
    server = memcached()
    o = val_options(clips, io_backend={"type": "memcached", "servers": [server.address]}, cache_data=False)
    ours, theirs = indexed_video_val(o, "test"), VideoTestDataset(val_options(clips))
    assert ours.data_info == theirs.data_info
    for i in range(len(theirs)):
        equal_items(ours[i], theirs[i])


def test_errors_name_option_and_file(clips):
    with pytest.raises(DalisrError, match="odd"):
        indexed_video_val(val_options(clips, num_frame=4), "options file x.yml (datasets.val)")
    with pytest.raises(DalisrError, match="dataroot_lq"):
        indexed_video_val(val_options(clips, "VideoRecurrentTestDataset", dataroot_lq=str(clips / "none")), "x")
    assert indexed_video_val(val_options(clips, "VideoTestDUFDataset"), "x") is None


def vimeo_val(vimeo, backend="disk", **extra) -> dict:  # noqa: F811
    """A Vimeo90K-test val section (BasicSR's VideoTestVimeo90KDataset) on the septuplets of test_video_recurrent."""
    suffix = "_lmdb" if backend == "lmdb" else ""
    o = {"name": "Vimeo90K", "type": "VideoTestVimeo90KDataset", "dataroot_gt": vimeo["gt" + suffix],
         "dataroot_lq": vimeo["lq" + suffix], "meta_info_file": vimeo["meta"], "io_backend": {"type": backend},
         "cache_data": False, "num_frame": 5, "padding": "reflection_circle", "scale": 4, "phase": "val"}
    o.update(extra)
    return o


@pytest.mark.parametrize("backend", ["disk", "lmdb"])
def test_vimeo90k_test_items_equal_basicsrs_dataset(vimeo, backend):  # noqa: F811
    theirs = VideoTestVimeo90KDataset(vimeo_val(vimeo))  # BasicSR refuses cache_data here; dalisr honours it
    ours = indexed_video_val(vimeo_val(vimeo, backend, cache_data=True), "test")
    assert len(ours) == len(theirs) == len(SEQUENCES)
    if backend == "disk":
        assert ours.data_info == theirs.data_info
    else:
        assert without_paths(ours.data_info) == without_paths(theirs.data_info)
        assert ours.data_info["gt_path"][0] == f"{SEQUENCES[0]}/im4"
    for i in range(len(theirs)):
        item, reference = ours[i], theirs[i]
        assert reference["lq_path"].endswith(f"{SEQUENCES[i]}/im4.png")
        if backend == "lmdb":
            assert item["lq_path"] == f"{SEQUENCES[i]}/im4"
            item["lq_path"] = reference["lq_path"]
        equal_items(item, reference)


@pytest.mark.parametrize("backend", ["disk", "lmdb"])
def test_vimeo90k_test_validation_metrics_equal_basicsrs(vimeo, backend, cuda_zeros_on_cpu):  # noqa: F811
    model = video_model("EDVRModel", {"type": "CentreFrameNetX4"})
    theirs = validate(model, VideoTestVimeo90KDataset(vimeo_val(vimeo)))
    ours = validate(model, indexed_video_val(vimeo_val(vimeo, backend), "test"))
    assert list(ours) == list(theirs) == ["vimeo90k"] and ours["vimeo90k"].shape == (len(SEQUENCES), 1)
    assert bool((ours["vimeo90k"] > 0).all()) and torch.equal(ours["vimeo90k"], theirs["vimeo90k"])


# -- the launcher ---------------------------------------------------------------------------------------------------
def launcher_for(section: dict, model_type: str) -> BasicsrLauncher:
    launcher = BasicsrLauncher("opts.yml")
    launcher.originals = {"build_dataset": basicsr.data.build_dataset}
    launcher.opt = {"datasets": {"val": section}, "rank": 0, "world_size": 1, "manual_seed": 0, "num_gpu": 0,
                    "model_type": model_type}
    return launcher


@pytest.mark.parametrize("model_type", ["EDVRModel", "VideoGANModel", "VideoRecurrentModel",
                                        "VideoRecurrentGANModel"])
def test_launcher_serves_video_models_val_sections_from_lmdb(clips, model_type, caplog):
    dtype = "VideoRecurrentTestDataset" if "Recurrent" in model_type else "VideoTestDataset"
    section = val_options(clips, dtype, "lmdb")
    launcher = launcher_for(section, model_type)
    with caplog.at_level(logging.INFO, logger="basicsr.dalisr"):
        dataset = launcher.build_dataset(section)
    assert isinstance(dataset, IndexedVideoVal) and dataset.opt is section
    assert "is read by index from lmdb store" in caplog.text and "BasicSR's own loader" not in caplog.text
    loader = basicsr.data.build_dataloader(dataset, section, num_gpu=0, dist=False)  # BasicSR's, as train.py
    assert loader.dataset is dataset
    launcher.close()


def test_launcher_keeps_basicsrs_loader_for_types_it_does_not_index(clips, caplog):
    section = val_options(clips, dalisr=True)
    section["type"] = "VideoTestDUFDataset"
    section["use_duf_downsampling"] = False
    launcher = launcher_for(section, "EDVRModel")
    with caplog.at_level(logging.WARNING, logger="basicsr.dalisr"):
        dataset = launcher.build_dataset(section)
    assert type(dataset).__name__ == "VideoTestDUFDataset"
    assert "loaded by BasicSR's own loader" in caplog.text and "not for VideoTestDUFDataset" in caplog.text
    bad = val_options(clips, "VideoRecurrentTestDataset", dataroot_gt=str(clips / "none"))
    with pytest.raises(DalisrError, match="dalisr: false' in datasets.val of opts.yml"):
        launcher_for(bad, "VideoRecurrentModel").build_dataset(bad)


# -- (b) the models' validation -------------------------------------------------------------------------------------
@pytest.fixture
def cuda_zeros_on_cpu(monkeypatch):
    """BasicSR's dist_validation allocates ``torch.zeros(..., device='cuda')``: without CUDA, make that a CPU
    tensor for this test (the only change; nothing of BasicSR's is patched)."""
    if torch.cuda.is_available():
        return
    zeros = torch.zeros

    def cpu_zeros(*args, **kwargs):
        if str(kwargs.get("device", "")).startswith("cuda"):
            kwargs["device"] = "cpu"
        return zeros(*args, **kwargs)

    monkeypatch.setattr(torch, "zeros", cpu_zeros)


MODELS = {
    "EDVRModel": ("VideoTestDataset", 3, "reflection_circle", {"type": "CentreFrameNetX4"}),
    "VideoBaseModel": ("VideoTestDataset", 3, "replicate", {"type": "CentreFrameNetX4"}),
    "VideoRecurrentModel": ("VideoRecurrentTestDataset", -1, "reflection_circle",
                            {"type": "BasicVSR", "num_feat": 8, "num_block": 1, "spynet_path": None}),
}


def video_model(model_type: str, network: dict):
    torch.manual_seed(0)
    if model_type == "VideoRecurrentModel" and not torch.cuda.is_available():
        model_type = "CopyingVideoRecurrentModel"
    opt = {"name": "vval", "model_type": model_type, "scale": 4, "num_gpu": torch.cuda.device_count(),
           "is_train": False, "dist": False, "rank": 0, "world_size": 1, "network_g": network,
           "path": {"pretrain_network_g": None, "strict_load_g": True, "param_key_g": "params"},
           "val": {"save_img": False, "metrics": PSNR}}
    return build_model(opt)


def validate(model, dataset) -> dict:
    from torch.utils.data import DataLoader

    if hasattr(model, "metric_results"):
        del model.metric_results
    model.validation(DataLoader(dataset), current_iter=1, tb_logger=None, save_img=False)
    return {folder: t.cpu().clone() for folder, t in model.metric_results.items()}


def metrics_both_ways(clips, model_type: str, backend: str) -> tuple[dict, dict, object]:
    """One model's ``metric_results`` after validating on dalisr's indexed set and on BasicSR's own dataset."""
    dtype, num_frame, padding, network = MODELS[model_type]
    model = video_model(model_type, network)
    theirs = validate(model, BASICSR_CLASSES[dtype](val_options(clips, dtype, num_frame=num_frame, padding=padding)))
    o = val_options(clips, dtype, backend, num_frame=num_frame, padding=padding)
    ours = validate(model, indexed_video_val(o, "test"))
    return ours, theirs, model


@pytest.mark.parametrize("model_type", list(MODELS))
@pytest.mark.parametrize("backend", ["disk", "lmdb"])
def test_validation_metrics_equal_basicsrs_loader(clips, model_type, backend, cuda_zeros_on_cpu):
    ours, theirs, _ = metrics_both_ways(clips, model_type, backend)
    assert list(ours) == list(theirs) == list(CLIP_LENGTHS)
    for folder, n in CLIP_LENGTHS.items():
        assert ours[folder].shape == (n, 1)
        assert bool((ours[folder] > 0).all())  # every frame was scored
        assert torch.equal(ours[folder], theirs[folder]), folder

