"""FFHQDataset: GT-only batches, random hflip, mean/std, the folder's own file list, LMDB meta info keys."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch

from dalisr import DalisrError, build_dataloader
from dalisr.config import load_dataset_options
from dalisr.datasets import build_dataset
from dalisr.prep.lmdb_writer import LmdbWriter
from dalisr.sampling import sample_draws
from tests import reference as ref

H, W, COUNT, SEED = 24, 32, 6, 2
MEAN, STD = [0.5, 0.4, 0.3], [0.5, 0.25, 0.2]


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    root = tmp_path_factory.mktemp("ffhq")
    folder, lmdb = root / "ffhq_png", str(root / "ffhq_r05.lmdb")
    folder.mkdir()
    images = {}
    with LmdbWriter(lmdb) as writer:
        for i in range(COUNT):
            img = np.random.default_rng(i).integers(0, 256, (H, W, 3), dtype=np.uint8)
            data = cv2.imencode(".png", img)[1].tobytes()
            (folder / f"{i:08d}.png").write_bytes(data)
            writer.put(f"{i:08d}/r05", data, f"{i:08d}/r05.png", img.shape, 1)
            images[f"{i:08d}.png"] = images[f"{i:08d}/r05"] = img
    (folder / "LICENSE.txt").write_text("not an image\n")
    return {"folder": str(folder), "lmdb": lmdb, "images": images}


def opt(faces, backend="disk", **extra):
    o = {"name": "FFHQ", "type": "FFHQDataset", "dataroot_gt": faces["lmdb" if backend == "lmdb" else "folder"],
         "io_backend": {"type": backend}, "use_hflip": True, "mean": MEAN, "std": STD, "use_shuffle": True,
         "batch_size_per_gpu": 2, "num_worker_per_gpu": 1, "dataset_enlarge_ratio": 2}
    o.update(extra)
    return o


def test_folder_listing_not_70000(faces):
    dataset = build_dataset(load_dataset_options(opt(faces)))[0]
    assert dataset.roles == {"gt": 1}
    assert len(dataset) == COUNT
    assert [s.paths["gt"] for s in dataset.samples] == [
        os.path.join(faces["folder"], f"{i:08d}.png") for i in range(COUNT)]


def test_lmdb_keys_from_meta_info(faces):
    dataset = build_dataset(load_dataset_options(opt(faces, backend="lmdb")))[0]
    assert [s.keys["gt"] for s in dataset.samples] == [(f"{i:08d}/r05",) for i in range(COUNT)]
    assert dataset.samples[0].paths["gt"] == "00000000/r05"


@pytest.mark.parametrize("backend", ["disk", "lmdb"])
def test_gt_only_batches_with_hflip_and_mean_std(faces, backend):
    """Whole faces (no gt_size: no crop), hflipped per the sample's draw, then (x - mean) / std in RGB order."""
    loader = build_dataloader(opt(faces, backend), device="cpu", seed=SEED)
    batches = list(loader)
    loader.close()
    assert len(batches) == COUNT * 2 // 2
    flips_seen = set()
    for b, batch in enumerate(batches):
        assert set(batch) == {"gt", "gt_path"}
        assert tuple(batch["gt"].shape) == (2, 3, H, W) and batch["gt"].dtype == torch.float32
        for i in range(2):
            name = os.path.basename(batch["gt_path"][i]) if backend == "disk" else batch["gt_path"][i]
            _, flips = sample_draws(SEED, 0, loader.plan.position(b, i))
            img = faces["images"][name]
            if flips[0]:
                img = cv2.flip(img, 1)
            flips_seen.add(int(flips[0]))
            np.testing.assert_allclose(batch["gt"][i].numpy(), ref.img2tensor(img, MEAN, STD), atol=1e-5)
    assert flips_seen == {0, 1}
    assert float(batch["gt"].min()) < 0.0  # normalised, not in [0, 1]


def test_gt_size_crops_when_given(faces):
    loader = build_dataloader(opt(faces, "lmdb", gt_size=16, mean=None, std=None), device="cpu", seed=SEED)
    batch = next(iter(loader))
    loader.close()
    assert tuple(batch["gt"].shape) == (2, 3, 16, 16)
    for i in range(2):
        fractions, flips = sample_draws(SEED, 0, loader.plan.position(0, i))
        img = faces["images"][batch["gt_path"][i]]
        patch, _ = ref.paired_crop(img, img, fractions, 16, 1)
        (patch,) = ref.augment([patch], bool(flips[0]), False, False)
        np.testing.assert_allclose(batch["gt"][i].numpy(), ref.img2tensor(patch), atol=1e-6)


def test_options(faces, tmp_path):
    assert load_dataset_options(opt(faces)).phase == "train"  # no gt_size needed: FFHQ trains on whole faces
    with pytest.raises(DalisrError, match="smaller than gt_size"):
        build_dataset(load_dataset_options(opt(faces, "lmdb", gt_size=64)))
    with pytest.raises(DalisrError, match="no samples"):
        build_dataset(load_dataset_options(opt(faces, dataroot_gt=str(tmp_path))))
