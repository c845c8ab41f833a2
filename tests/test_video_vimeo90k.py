"""Vimeo90KDataset on synthetic septuplets: GT im4, neighbour lists, per-sample random reverse, one crop for all."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch

from dalisr import DalisrError, build_dataloader
from dalisr.config import load_dataset_options
from dalisr.datasets import build_dataset
from dalisr.datasets.vimeo90k import neighbor_list
from dalisr.sources.base import key_rng
from tests.test_video_reds import GT_SIZE, PATCH, SCALE, expected_patch, identity, make_frame, write_frames

SEED = 11
SEQUENCES = [f"{c:05d}/{s:04d}" for c in (1, 2) for s in (1, 2, 3, 4)]  # 8 sequences, identity 1..8


@pytest.fixture(scope="module")
def vimeo(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("vimeo"))
    frames = {f"{seq}/im{n}": make_frame(i + 1, n) for i, seq in enumerate(SEQUENCES) for n in range(1, 8)}
    # the GT set keeps only im4 (as BasicSR's GT LMDB); LQ holds all 7 frames
    paths = write_frames(root, frames, gt_keys=[f"{seq}/im4" for seq in SEQUENCES])
    meta = os.path.join(root, "sep_trainlist.txt")
    with open(meta, "w") as f:
        f.write("".join(f"{seq}\n" for seq in SEQUENCES) + "\n")
    paths["meta"] = meta
    paths["frames"] = frames
    return paths


def opt(vimeo, backend="lmdb", **extra):
    suffix = "_lmdb" if backend == "lmdb" else ""
    o = {"name": "Vimeo90K", "type": "Vimeo90KDataset", "dataroot_gt": vimeo["gt" + suffix],
         "dataroot_lq": vimeo["lq" + suffix], "meta_info_file": vimeo["meta"], "io_backend": {"type": backend},
         "num_frame": 5, "gt_size": GT_SIZE, "scale": SCALE, "random_reverse": True, "use_hflip": True,
         "use_rot": True, "use_shuffle": True, "batch_size_per_gpu": 4, "num_worker_per_gpu": 1}
    o.update(extra)
    return o


def index(o):
    return build_dataset(load_dataset_options(o))[0]


def orders(batches):
    """Per sample, in epoch order: (key, LQ frame numbers as the pixels say)."""
    out = []
    for batch in batches:
        for i in range(len(batch["key"])):
            out.append((batch["key"][i], tuple(identity(batch["lq"][i, t])[2] for t in range(batch["lq"].shape[1]))))
    return out


@pytest.fixture(scope="module")
def lmdb_run(vimeo):
    loader = build_dataloader(opt(vimeo), device="cpu", seed=SEED)
    epochs = [list(loader) for _ in range(3)]
    loader.close()
    return loader, epochs


def test_neighbor_lists_match_basicsr():
    assert neighbor_list(7) == (1, 2, 3, 4, 5, 6, 7)
    assert neighbor_list(5) == (2, 3, 4, 5, 6)
    assert neighbor_list(3) == (3, 4, 5)
    assert neighbor_list(1) == (4,)


def test_gt_is_im4_lq_is_the_neighbours_in_either_order_with_one_crop(vimeo, lmdb_run):
    loader, epochs = lmdb_run
    frames = vimeo["frames"]
    seen_orders, seen_keys = set(), set()
    for epoch, batches in enumerate(epochs):
        assert len(batches) == 2
        for b, batch in enumerate(batches):
            assert tuple(batch["lq"].shape) == (4, 5, 3, PATCH, PATCH)
            for i in range(4):
                key = batch["key"][i]
                seen_keys.add(key)
                position = loader.plan.position(b, i)
                gt, ident, n = identity(batch["gt"][i])
                assert SEQUENCES[ident - 1] == key and n == 4
                lq_frames = []
                for t in range(5):
                    lq, lq_ident, f = identity(batch["lq"][i, t])
                    assert lq_ident == ident
                    lq_frames.append(f)
                    (exp_gt, exp_lq), _ = expected_patch(*frames[f"{key}/im{f}"], SEED, epoch, position)
                    assert np.array_equal(lq, exp_lq)
                    if f == 4:
                        assert np.array_equal(gt, expected_patch(*frames[f"{key}/im4"], SEED, epoch, position)[0][0])
                        assert np.array_equal(cv2.resize(gt, (PATCH, PATCH), interpolation=cv2.INTER_AREA), lq)
                assert lq_frames in ([2, 3, 4, 5, 6], [6, 5, 4, 3, 2])
                # a sample's order is a function of its own draw only
                assert tuple(lq_frames) == loader.dataset.order(key_rng(SEED, epoch, position))
                seen_orders.add(lq_frames[0] == 2)
    assert seen_orders == {True, False}
    assert seen_keys == set(SEQUENCES)


def test_reverse_does_not_leak_between_samples(vimeo, lmdb_run):
    """BasicSR reverses one shared list in place; here nothing shared changes and draws stand alone."""
    dataset = index(opt(vimeo))
    before = dataset.keys_for(3, np.random.default_rng(42))
    for s in range(50):  # plenty of reversed draws for other samples in between
        dataset.keys_for(s % 8, np.random.default_rng(s))
    assert dataset.keys_for(3, np.random.default_rng(42)) == before
    assert dataset.neighbors == (2, 3, 4, 5, 6)
    # the same seed with other batch neighbours (batch 2 instead of 4) gives every epoch slot the same order
    _, epochs = lmdb_run
    loader = build_dataloader(opt(vimeo, batch_size_per_gpu=2), device="cpu", seed=SEED)
    again = list(loader)
    loader.close()
    assert orders(again) == orders(epochs[0])


def test_disk_gives_the_lmdb_batches(vimeo, lmdb_run):
    _, epochs = lmdb_run
    loader = build_dataloader(opt(vimeo, backend="disk"), device="cpu", seed=SEED)
    batches = list(loader)
    loader.close()
    for a, b in zip(batches, epochs[0]):
        assert a["key"] == b["key"]
        assert torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"])


def test_keys_and_options(vimeo):
    disk = index(opt(vimeo, backend="disk", num_frame=7, random_reverse=False))
    assert disk.keys_for(0, np.random.default_rng(0)) == {
        "gt": ("00001/0001/im4.png",), "lq": tuple(f"00001/0001/im{n}.png" for n in range(1, 8))}
    lmdb = index(opt(vimeo, num_frame=3))
    assert lmdb.keys_for(7, np.random.default_rng(0))["gt"] == ("00002/0004/im4",)
    assert [s.name for s in lmdb.samples] == SEQUENCES  # first token per line, file order, blank lines skipped
    with pytest.raises(DalisrError, match="septuplet"):
        index(opt(vimeo, num_frame=9))
    with pytest.raises(DalisrError, match="does not exist"):
        index(opt(vimeo, meta_info_file=vimeo["meta"] + ".missing"))


def test_one_frame_lq_is_still_a_stack(vimeo):
    """BasicSR stacks the neighbour frames (torch.stack), so num_frame 1 gives N x 1 x C x H x W, not N x C x H x W."""
    loader = build_dataloader(opt(vimeo, num_frame=1), device="cpu", seed=SEED)
    batch = next(iter(loader))
    loader.close()
    assert tuple(batch["lq"].shape) == (4, 1, 3, PATCH, PATCH)
    assert tuple(batch["gt"].shape) == (4, 3, GT_SIZE, GT_SIZE)
