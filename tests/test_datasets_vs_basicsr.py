"""The val-side dataset types against BasicSR's own dataset classes, sample by sample (where basicsr imports).

These need ``import basicsr`` to work (the optional extra; PyPI's basicsr also
needs torchvision). Where it does not, they are skipped; the other test files
hold independent checks of the same rules. Only deterministic samples are
compared (no random crops: BasicSR draws them from Python's ``random``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from dalisr import build_dataloader
from tests.test_single_and_realesrgan_paired import renamed  # noqa: F401 - fixture
from tests.test_video_val import clips  # noqa: F401 - fixture


def own_copy(path: str, tmp_path) -> str:
    """A copy of an LMDB for BasicSR to open: py-lmdb allows one handle per LMDB and process, and other tests
    in this process may still hold one on the shared sample set's."""
    import shutil

    copy = tmp_path / os.path.basename(path)
    shutil.copytree(path, copy)
    return str(copy)


def ours(o) -> list[dict]:
    loader = build_dataloader(o, device="cpu", seed=0)
    out = list(loader)
    loader.close()
    return out


def close(a, b) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-6)


@pytest.mark.parametrize("backend", ["disk", "lmdb"])
def test_single_image_dataset(sample_set, backend, tmp_path):
    module = pytest.importorskip("basicsr.data.single_image_dataset")
    root = sample_set.lq_folder(4) if backend == "disk" else own_copy(sample_set.lq_lmdb(4), tmp_path)
    opt = {"name": "t", "type": "SingleImageDataset", "dataroot_lq": root, "io_backend": {"type": backend},
           "phase": "val", "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.3, 0.4]}
    theirs = module.SingleImageDataset({**opt, "io_backend": dict(opt["io_backend"])})
    batches = ours({**opt, "num_worker_per_gpu": 1})
    assert len(batches) == len(theirs) == 8
    for i, batch in enumerate(batches):
        ref = theirs[i]
        assert batch["lq_path"] == [ref["lq_path"]]
        close(batch["lq"][0], ref["lq"])


@pytest.mark.parametrize("backend", ["disk", "lmdb"])
def test_realesrgan_paired_dataset_val(sample_set, renamed, backend, tmp_path):  # noqa: F811
    module = pytest.importorskip("basicsr.data.realesrgan_paired_dataset")
    if backend == "disk":
        roots = {"dataroot_gt": sample_set.gt_folder, "dataroot_lq": str(renamed / "lq"),
                 "meta_info": str(renamed / "meta_info.txt")}
    else:
        roots = {"dataroot_gt": own_copy(sample_set.gt_lmdb, tmp_path),
                 "dataroot_lq": own_copy(sample_set.lq_lmdb(4), tmp_path)}
    opt = {"name": "t", "type": "RealESRGANPairedDataset", **roots, "io_backend": {"type": backend}, "scale": 4,
           "phase": "val"}
    theirs = module.RealESRGANPairedDataset({**opt, "io_backend": dict(opt["io_backend"])})
    batches = ours({**opt, "num_worker_per_gpu": 1})
    assert len(batches) == len(theirs) == 8
    for i, batch in enumerate(batches):
        ref = theirs[i]
        assert (batch["gt_path"], batch["lq_path"]) == ([ref["gt_path"]], [ref["lq_path"]])
        close(batch["gt"][0], ref["gt"])
        close(batch["lq"][0], ref["lq"])


@pytest.mark.parametrize("padding", ["reflection_circle", "circle", "replicate", "reflection"])
def test_video_test_dataset(clips, padding):  # noqa: F811
    module = pytest.importorskip("basicsr.data.video_test_dataset")
    opt = {"name": "Vid4", "type": "VideoTestDataset", "dataroot_gt": str(clips / "GT"),
           "dataroot_lq": str(clips / "BIx4"), "io_backend": {"type": "disk"}, "cache_data": False,
           "num_frame": 3, "padding": padding, "scale": 4, "phase": "val"}
    theirs = module.VideoTestDataset({**opt, "io_backend": {"type": "disk"}})
    batches = ours({**opt, "num_worker_per_gpu": 1})
    assert len(batches) == len(theirs) == 8
    for i, batch in enumerate(batches):
        ref = theirs[i]
        for key in ("folder", "idx", "border", "lq_path"):
            assert batch[key] == [ref[key]], key
        close(batch["lq"][0], ref["lq"])
        close(batch["gt"][0], ref["gt"])


def test_video_recurrent_test_dataset(clips):  # noqa: F811
    module = pytest.importorskip("basicsr.data.video_test_dataset")
    opt = {"name": "REDS4", "type": "VideoRecurrentTestDataset", "dataroot_gt": str(clips / "GT"),
           "dataroot_lq": str(clips / "BIx4"), "io_backend": {"type": "disk"}, "cache_data": True,
           "num_frame": -1, "scale": 4, "phase": "val"}
    theirs = module.VideoRecurrentTestDataset({**opt, "io_backend": {"type": "disk"}})
    batches = ours({**opt, "num_worker_per_gpu": 1})
    assert len(batches) == len(theirs) == 2
    for i, batch in enumerate(batches):
        ref = theirs[i]
        assert batch["folder"] == [ref["folder"]] and os.path.isdir(clips / "GT" / ref["folder"])
        close(batch["lq"][0], ref["lq"])
        close(batch["gt"][0], ref["gt"])
