"""REDSRecurrentDataset and Vimeo90KRecurrentDataset: T GT frames beside T LQ frames, one crop and flip for all.

Frames are the synthetic identity frames of test_video_reds (channel 0 the
clip, channel 1 the frame number, channel 2 seeded noise; LQ the exact 4x
block mean), so every output frame says which frame it is, and every patch
can be checked against BasicSR's crop and augment of that frame.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch

from dalisr import DalisrError, build_dataloader
from dalisr.config import load_dataset_options
from dalisr.datasets import build_dataset
from dalisr.prep.convert import convert_lmdb
from dalisr.sources.base import key_rng
from tests.test_video_reds import CLIPS, GT_SIZE, PATCH, expected_patch, identity, make_frame, write_frames

SEED = 7
T = 3
INTERVALS = [1, 2]
REDS4_TRAIN = ("001", "002", "240")


@pytest.fixture(scope="module")
def reds(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("reds_recurrent"))
    frames = {f"{c}/{f:08d}": make_frame(int(c), f) for c, n in CLIPS.items() for f in range(n)}
    paths = write_frames(root, frames)
    meta = os.path.join(root, "meta_info_REDS_GT.txt")
    with open(meta, "w") as f:
        f.write("".join(f"{c} {n} (32,48,3)\n" for c, n in CLIPS.items()))
    paths.update(meta=meta, frames=frames)
    return paths


def reds_opt(reds, backend="lmdb", **extra):
    suffix = "_lmdb" if backend == "lmdb" else ""
    o = {"name": "REDS", "type": "REDSRecurrentDataset", "dataroot_gt": reds["gt" + suffix],
         "dataroot_lq": reds["lq" + suffix], "meta_info_file": reds["meta"], "val_partition": "REDS4",
         "test_mode": False, "io_backend": {"type": backend}, "num_frame": T, "gt_size": GT_SIZE,
         "interval_list": INTERVALS, "random_reverse": True, "use_hflip": True, "use_rot": True, "scale": 4,
         "batch_size_per_gpu": 4, "num_worker_per_gpu": 1, "phase": "train"}
    o.update(extra)
    return o


def index(o):
    return build_dataset(load_dataset_options(o))[0]


def basicsr_frames(name: str, frames_in_clip: int, rng: np.random.Generator) -> list[int]:
    """BasicSR's REDSRecurrentDataset window for sample ``clip/frame`` (its 100 replaced by the clip's length),
    with the sample's own generator in place of ``random``: interval, start re-draw, reverse."""
    start = int(name.split("/")[1])
    interval = INTERVALS[int(rng.integers(len(INTERVALS)))]
    if start > frames_in_clip - T * interval:
        start = int(rng.integers(0, frames_in_clip - T * interval + 1))  # randint is inclusive
    out = list(range(start, start + T * interval, interval))
    if rng.random() < 0.5:
        out.reverse()
    return out


def check_sample(batch, i, frames, seed, epoch, position, key_of_clip):
    """GT frame t and LQ frame t: the same frame, each cut and flipped as BasicSR would; returns frame numbers."""
    seen, flips = [], None
    for t in range(batch["gt"].shape[1]):
        gt, clip, f = identity(batch["gt"][i, t])
        lq, lq_clip, lq_f = identity(batch["lq"][i, t])
        assert (lq_clip, lq_f) == (clip, f)
        (exp_gt, exp_lq), flips = expected_patch(*frames[key_of_clip(clip, f)], seed, epoch, position)
        assert np.array_equal(gt, exp_gt) and np.array_equal(lq, exp_lq)
        assert np.array_equal(cv2.resize(gt, (PATCH, PATCH), interpolation=cv2.INTER_AREA), lq)
        seen.append((clip, f))
    return seen, flips


@pytest.fixture(scope="module")
def reds_run(reds):
    loader = build_dataloader(reds_opt(reds), device="cpu", seed=SEED)
    epochs = [list(loader) for _ in range(3)]
    loader.close()
    return loader, epochs


def test_reds_recurrent_frame_lists_follow_basicsr_for_every_sample(reds, reds_run):
    loader, epochs = reds_run
    dataset = loader.dataset
    intervals, orders, redrawn, flips_seen = set(), set(), 0, set()
    for epoch, batches in enumerate(epochs):
        indices = loader.plan.shard_indices(epoch)
        assert len(batches) == 7  # 28 frames in the training clips, batch 4
        for b, batch in enumerate(batches):
            assert tuple(batch["gt"].shape) == (4, T, 3, GT_SIZE, GT_SIZE)
            assert tuple(batch["lq"].shape) == (4, T, 3, PATCH, PATCH)
            for i in range(4):
                position = loader.plan.position(b, i)
                own = dataset.name(int(indices[b * 4 + i]))
                assert batch["key"][i] == own  # BasicSR reports the sample's key, also when the start moved
                seen, flips = check_sample(batch, i, reds["frames"], SEED, epoch, position,
                                           lambda c, f: f"{c:03d}/{f:08d}")
                flips_seen.add(flips)
                clip = own.split("/")[0]
                assert {c for c, _ in seen} == {int(clip)}
                expected = basicsr_frames(own, CLIPS[clip], key_rng(SEED, epoch, position))
                got = [f for _, f in seen]
                assert got == expected
                step = got[1] - got[0]
                intervals.add(abs(step))
                orders.add(step > 0)
                redrawn += min(got) != int(own.split("/")[1])
    assert intervals == set(INTERVALS) and orders == {True, False} and redrawn > 0
    assert len(flips_seen) == 8


def test_reds_recurrent_backends_and_sources_agree(reds, reds_run, memcached, tmp_path):
    """disk, memcached, a raw LMDB (windows sliced from the map) and PNG windows give the DALI-decoded batches."""
    _, epochs = reds_run
    server = memcached()
    raw_gt, raw_lq = str(tmp_path / "gt_raw.lmdb"), str(tmp_path / "lq_raw.lmdb")
    convert_lmdb(reds["gt_lmdb"], raw_gt, "raw")
    convert_lmdb(reds["lq_lmdb"], raw_lq, "raw")
    variants = [reds_opt(reds, backend="disk"),
                reds_opt(reds, backend="disk", io_backend={"type": "memcached", "servers": [server.address]}),
                reds_opt(reds, dataroot_gt=raw_gt, dataroot_lq=raw_lq),
                reds_opt(reds, num_threads=1)]  # workers >= threads: PNG windows decoded in the source
    for o in variants:
        loader = build_dataloader(o, device="cpu", seed=SEED)
        batches = list(loader)
        loader.close()
        for a, b in zip(batches, epochs[0]):
            assert a["key"] == b["key"]
            assert torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"])


def test_reds_recurrent_partitions_and_errors(reds):
    clips = {index(reds_opt(reds)).name(i).split("/")[0] for i in range(28)}
    assert clips == set(REDS4_TRAIN)
    val = index(reds_opt(reds, test_mode=True))
    assert len(val) == 18 and {val.name(i)[:3] for i in range(18)} == {"000", "011"}
    official = index(reds_opt(reds, val_partition="official", test_mode=True))
    assert {official.name(i)[:3] for i in range(len(official))} == {"240"}
    # a 9-frame clip, num_frame 5 at interval 2 needs 10: refused rather than an endless draw
    with pytest.raises(DalisrError, match="clip '001'.*9 frames"):
        index(reds_opt(reds, num_frame=5))
    with pytest.raises(DalisrError, match="optical flow"):
        index(reds_opt(reds, dataroot_flow="flow.lmdb"))
    # keys: GT and LQ read the same frames; disk keys are PNG files
    disk = index(reds_opt(reds, backend="disk", random_reverse=False, interval_list=[1]))
    keys = disk.keys_for(0, np.random.default_rng(0))
    assert keys["gt"] == keys["lq"] == ("001/00000000.png", "001/00000001.png", "001/00000002.png")


# -- Vimeo90KRecurrentDataset -------------------------------------------------------------------------------------
SEQUENCES = [f"{c:05d}/{s:04d}" for c in (1, 2) for s in (1, 2, 3, 4)]


@pytest.fixture(scope="module")
def vimeo(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("vimeo_recurrent"))
    frames = {f"{seq}/im{n}": make_frame(i + 1, n) for i, seq in enumerate(SEQUENCES) for n in range(1, 8)}
    paths = write_frames(root, frames)  # GT holds all seven frames here
    meta = os.path.join(root, "meta_info_Vimeo90K_train_GT.txt")
    with open(meta, "w") as f:
        f.write("".join(f"{seq} 7 (32,48,3)\n" for seq in SEQUENCES))
    paths.update(meta=meta, frames=frames)
    return paths


def vimeo_opt(vimeo, backend="lmdb", **extra):
    suffix = "_lmdb" if backend == "lmdb" else ""
    o = {"name": "Vimeo90K", "type": "Vimeo90KRecurrentDataset", "dataroot_gt": vimeo["gt" + suffix],
         "dataroot_lq": vimeo["lq" + suffix], "meta_info_file": vimeo["meta"], "io_backend": {"type": backend},
         "num_frame": -1, "gt_size": GT_SIZE, "scale": 4, "interval_list": [1], "random_reverse": True,
         "use_hflip": True, "use_rot": True, "flip_sequence": True, "batch_size_per_gpu": 4,
         "num_worker_per_gpu": 1, "phase": "train"}
    o.update(extra)
    return o


def test_vimeo90k_recurrent_seven_frames_mirrored_to_fourteen(vimeo):
    loader = build_dataloader(vimeo_opt(vimeo), device="cpu", seed=SEED)
    epochs = [list(loader) for _ in range(4)]
    loader.close()
    orders, flips_seen = set(), set()
    for epoch, batches in enumerate(epochs):
        for b, batch in enumerate(batches):
            assert tuple(batch["gt"].shape) == (4, 14, 3, GT_SIZE, GT_SIZE)
            assert tuple(batch["lq"].shape) == (4, 14, 3, PATCH, PATCH)
            for i in range(4):
                key = batch["key"][i]
                position = loader.plan.position(b, i)
                seen, flips = check_sample(batch, i, vimeo["frames"], SEED, epoch, position,
                                           lambda c, f, key=key: f"{key}/im{f}")
                flips_seen.add(flips)
                assert {c for c, _ in seen} == {SEQUENCES.index(key) + 1}
                got = [f for _, f in seen]
                first = list(loader.dataset.order(key_rng(SEED, epoch, position)))
                assert sorted(first) == list(range(1, 8))
                assert got == first + first[::-1]  # flip_sequence: t = 0..6 then 6..0
                orders.add(got[0])
    assert orders == {1, 7} and len(flips_seen) == 8
    # without flip_sequence: the 7 frames only; disk gives the LMDB's batches
    loader = build_dataloader(vimeo_opt(vimeo, flip_sequence=False), device="cpu", seed=SEED)
    plain = list(loader)
    loader.close()
    disk = build_dataloader(vimeo_opt(vimeo, backend="disk", flip_sequence=False), device="cpu", seed=SEED)
    on_disk = list(disk)
    disk.close()
    for a, b, mirrored in zip(plain, on_disk, epochs[0]):
        assert a["gt"].shape[1] == 7 and torch.equal(a["lq"], mirrored["lq"][:, :7])
        assert torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"]) and a["key"] == b["key"]


def test_vimeo90k_recurrent_needs_every_gt_frame(vimeo, tmp_path):
    """Vimeo90KDataset's GT LMDB (im4 only) is not enough here: the missing keys are named up front."""
    im4_only = write_frames(str(tmp_path), {k: v for k, v in vimeo["frames"].items()},
                            gt_keys=[f"{s}/im4" for s in SEQUENCES])
    with pytest.raises(DalisrError, match="00001/0001/im1"):
        index(vimeo_opt(vimeo, dataroot_gt=im4_only["gt_lmdb"]))


def test_preview_shows_the_middle_frame_of_gt_and_lq_sequences(reds_run):
    from dalisr.diagnose.preview import contact_sheet

    _, epochs = reds_run
    batch = epochs[0][0]
    sheet = contact_sheet(batch, max_rows=2, gap=4)
    assert sheet.shape == (2 * GT_SIZE + 4, 2 * GT_SIZE + 4, 3)
    assert np.array_equal(sheet[:GT_SIZE, :GT_SIZE], identity(batch["gt"][0, T // 2])[0])
    lq_only = contact_sheet({"lq": batch["lq"][:, 0]}, max_rows=1)
    assert lq_only.shape == (PATCH, PATCH, 3)


def test_options_are_checked_naming_the_key(reds, vimeo):
    with pytest.raises(DalisrError, match="'num_frame'.*at least 1"):
        load_dataset_options(reds_opt(reds, num_frame=-1))
    with pytest.raises(DalisrError, match="'flip_sequence'.*must be bool"):
        load_dataset_options(vimeo_opt(vimeo, flip_sequence="yes"))
    with pytest.raises(DalisrError, match="missing key 'gt_size'.*REDSRecurrentDataset"):
        load_dataset_options({k: v for k, v in reds_opt(reds).items() if k != "gt_size"})
    val = {"type": "VideoTestDataset", "dataroot_gt": "GT", "dataroot_lq": "LQ", "io_backend": {"type": "disk"},
           "scale": 4, "phase": "val"}
    with pytest.raises(DalisrError, match="missing key 'num_frame'.*VideoTestDataset"):
        load_dataset_options(val)
    assert load_dataset_options({**val, "type": "VideoRecurrentTestDataset", "num_frame": -1}).warnings == []
