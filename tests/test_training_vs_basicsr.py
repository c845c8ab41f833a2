"""The training dataset types against BasicSR's own classes, with BasicSR's random draws replayed from ours.

BasicSR draws intervals, starts, reverses, crops and flips from Python's
``random``; dalisr draws them from (seed, epoch, position). Here BasicSR's
modules get a stand-in ``random`` that answers each of its calls with the
choice dalisr made for that sample, so BasicSR's real ``__getitem__`` (its
frame lists, paired_random_crop, augment, flip_sequence) must give exactly
our batch. Skipped where ``import basicsr`` fails (it needs torchvision).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from dalisr import build_dataloader
from dalisr.sampling import window_anchor
from dalisr.sources.base import key_rng
from tests.test_video_recurrent import vimeo, vimeo_opt  # noqa: F401 - fixture
from tests.test_video_reds import make_frame, write_frames

SEED = 13
GT_SIZE, SCALE = 16, 4


class Replay:
    """Python's ``random`` as BasicSR calls it, answering from a queue of dalisr's choices."""

    def __init__(self) -> None:
        self.queue: list = []

    def choice(self, seq):
        value = self.queue.pop(0)
        assert value in seq
        return value

    def randint(self, a: int, b: int) -> int:
        value = self.queue.pop(0)
        assert isinstance(value, int) and a <= value <= b, (value, a, b)
        return value

    def random(self) -> float:
        value = self.queue.pop(0)
        assert isinstance(value, float)
        return value


def coin(yes: bool) -> float:
    return 0.0 if yes else 0.9  # BasicSR's tests are `random.random() < 0.5`


def crop_and_flips(loader, epoch, b, i, lq_hw) -> list:
    """BasicSR's paired_random_crop (top, left) then augment's hflip, vflip, rot90 draws for one sample."""
    from dalisr.sampling import sample_draws

    fractions, flips = sample_draws(SEED, epoch, loader.plan.position(b, i))
    top, left = window_anchor(fractions, *lq_hw, GT_SIZE // SCALE)
    return [top, left, coin(bool(flips[0])), coin(bool(flips[1])), coin(bool(flips[2]))]


def replayed(monkeypatch, *modules) -> Replay:
    replay = Replay()
    for module in modules:
        monkeypatch.setattr(module, "random", replay)
    return replay


def run(o) -> tuple:
    loader = build_dataloader(o, device="cpu", seed=SEED)
    batches = list(loader)
    loader.close()
    return loader, batches


def close(a, b) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def reds100(tmp_path_factory):
    """Two 100-frame clips (BasicSR's REDSRecurrentDataset assumes 100 frames per clip)."""
    root = str(tmp_path_factory.mktemp("reds100"))
    clips = {"001": 100, "002": 100}
    paths = write_frames(root, {f"{c}/{f:08d}": make_frame(int(c), f) for c, n in clips.items() for f in range(n)})
    meta = os.path.join(root, "meta.txt")
    with open(meta, "w") as f:
        f.write("".join(f"{c} {n} (32,48,3)\n" for c, n in clips.items()))
    paths["meta"] = meta
    return paths


def test_reds_recurrent_equals_basicsr(reds100, monkeypatch):
    reds_module = pytest.importorskip("basicsr.data.reds_dataset")
    transforms = pytest.importorskip("basicsr.data.transforms")
    num_frame, intervals = 3, [1, 2, 3]
    opt = {"name": "REDS", "type": "REDSRecurrentDataset", "dataroot_gt": reds100["gt"], "dataroot_lq": reds100["lq"],
           "meta_info_file": reds100["meta"], "val_partition": "REDS4", "test_mode": False,
           "io_backend": {"type": "disk"}, "num_frame": num_frame, "gt_size": GT_SIZE, "interval_list": intervals,
           "random_reverse": True, "use_hflip": True, "use_rot": True, "scale": SCALE, "phase": "train",
           "batch_size_per_gpu": 4, "num_worker_per_gpu": 1}
    loader, batches = run(opt)
    replay = replayed(monkeypatch, reds_module, transforms)
    theirs = reds_module.REDSRecurrentDataset({**opt, "io_backend": {"type": "disk"}})
    dataset, indices, redrawn = loader.dataset, loader.plan.shard_indices(0), 0
    for b, batch in enumerate(batches):
        for i in range(4):
            index = int(indices[b * 4 + i])
            frames = [int(k.split("/")[1][:8]) for k in
                      dataset.keys_for(index, key_rng(SEED, 0, loader.plan.position(b, i)))["lq"]]
            interval, start = abs(frames[1] - frames[0]), min(frames)
            replay.queue = [interval]
            if start != int(dataset.name(index).split("/")[1]):
                replay.queue.append(start)
                redrawn += 1
            replay.queue.append(coin(frames[0] > frames[1]))
            replay.queue += crop_and_flips(loader, 0, b, i, (8, 12))
            ref = theirs[index]
            assert not replay.queue and ref["key"] == batch["key"][i]
            close(batch["gt"][i], ref["gt"])
            close(batch["lq"][i], ref["lq"])
    assert redrawn > 0


def test_vimeo90k_recurrent_equals_basicsr(vimeo, monkeypatch):  # noqa: F811
    vimeo_module = pytest.importorskip("basicsr.data.vimeo90k_dataset")
    transforms = pytest.importorskip("basicsr.data.transforms")
    opt = {**vimeo_opt(vimeo, backend="disk"), "gt_size": GT_SIZE}
    loader, batches = run(opt)
    replay = replayed(monkeypatch, vimeo_module, transforms)
    theirs = vimeo_module.Vimeo90KRecurrentDataset({**opt, "io_backend": {"type": "disk"}})
    indices = loader.plan.shard_indices(0)
    for b, batch in enumerate(batches):
        for i in range(4):
            index = int(indices[b * 4 + i])
            ours_first = loader.dataset.order(key_rng(SEED, 0, loader.plan.position(b, i)))[0]
            # BasicSR reverses its one shared list in place: reverse it exactly when it differs from our order
            replay.queue = [coin(theirs.neighbor_list[0] != ours_first)]
            replay.queue += crop_and_flips(loader, 0, b, i, (8, 12))
            ref = theirs[index]
            assert not replay.queue and ref["key"] == batch["key"][i]
            assert tuple(ref["lq"].shape) == tuple(batch["lq"][i].shape)  # 14 frames: flip_sequence
            close(batch["gt"][i], ref["gt"])
            close(batch["lq"][i], ref["lq"])


def test_realesrgan_paired_training_crops_equal_basicsr(sample_set, monkeypatch):
    module = pytest.importorskip("basicsr.data.realesrgan_paired_dataset")
    transforms = pytest.importorskip("basicsr.data.transforms")
    opt = {"name": "t", "type": "RealESRGANPairedDataset", "dataroot_gt": sample_set.gt_folder,
           "dataroot_lq": sample_set.lq_folder(4), "io_backend": {"type": "disk"}, "gt_size": GT_SIZE,
           "use_hflip": True, "use_rot": True, "scale": SCALE, "phase": "train", "batch_size_per_gpu": 4,
           "num_worker_per_gpu": 1, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    loader, batches = run(opt)
    replay = replayed(monkeypatch, transforms)
    theirs = module.RealESRGANPairedDataset({**opt, "io_backend": {"type": "disk"}})
    # BasicSR's folder scan keeps the file system's order; dalisr sorts: match samples by path
    at = {p["gt_path"]: j for j, p in enumerate(theirs.paths)}
    for b, batch in enumerate(batches):
        for i in range(4):
            replay.queue = crop_and_flips(loader, 0, b, i, (120, 120))
            ref = theirs[at[batch["gt_path"][i]]]
            assert not replay.queue and ref["lq_path"] == batch["lq_path"][i]
            close(batch["gt"][i], ref["gt"])
            close(batch["lq"][i], ref["lq"])
