"""REDSDataset on synthetic clips: neighbour windows, intervals, reverse, validation clips, one crop for all.

Every frame is 32x48 BGR: channel 0 = clip number, channel 1 = frame number
(both constant, so they survive crop, flips, transpose and the 4x block mean),
channel 2 = noise seeded by (clip, frame), which makes the alignment checks
bite. LQ = cv2.INTER_AREA 4x downscale of GT (an exact block mean).
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
from dalisr.prep.lmdb_writer import LmdbWriter
from dalisr.sampling import sample_draws
from tests import reference as ref

GT_H, GT_W, SCALE, GT_SIZE = 32, 48, 4, 16
PATCH = GT_SIZE // SCALE
SEED = 5
# clip -> frames; 000 and 011 are REDS4 validation clips, 240 an 'official' one
CLIPS = {"000": 9, "001": 9, "002": 10, "011": 9, "240": 9}
REDS4_TRAIN = ("001", "002", "240")


def make_frame(ident: int, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """(GT, LQ) of one frame: constant identity channels, noise in channel 2."""
    gt = np.empty((GT_H, GT_W, 3), np.uint8)
    gt[..., 0] = ident
    gt[..., 1] = frame
    gt[..., 2] = np.random.default_rng([ident, frame]).integers(0, 256, (GT_H, GT_W), dtype=np.uint8)
    lq = cv2.resize(gt, (GT_W // SCALE, GT_H // SCALE), interpolation=cv2.INTER_AREA)
    return gt, lq


def write_frames(root, frames: dict[str, tuple[np.ndarray, np.ndarray]], gt_keys=None) -> dict[str, str]:
    """GT/LQ as folders (``key.png``) and BasicSR LMDBs (``key``); ``gt_keys`` limits what GT holds."""
    gt_keys = set(frames) if gt_keys is None else set(gt_keys)
    paths = {"gt": os.path.join(root, "gt"), "lq": os.path.join(root, "lq"),
             "gt_lmdb": os.path.join(root, "gt.lmdb"), "lq_lmdb": os.path.join(root, "lq.lmdb")}
    with LmdbWriter(paths["gt_lmdb"]) as gw, LmdbWriter(paths["lq_lmdb"]) as lw:
        for key, (gt, lq) in sorted(frames.items()):
            for role, img, writer in (("gt", gt, gw), ("lq", lq, lw)):
                if role == "gt" and key not in gt_keys:
                    continue
                data = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
                path = os.path.join(paths[role], key + ".png")
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(data)
                writer.put(key, data, f"{key}.png", img.shape, 1)
    return paths


def identity(t) -> tuple[np.ndarray, int, int]:
    """A loader tensor (C x H x W) as BGR uint8 and the (ident, frame) its constant channels hold."""
    img = ref.to_uint8(t)
    ident, frame = int(img[0, 0, 0]), int(img[0, 0, 1])
    assert (img[..., 0] == ident).all() and (img[..., 1] == frame).all(), "identity channels not constant"
    return img, ident, frame


def expected_patch(full_gt, full_lq, seed, epoch, position):
    """The GT and LQ patch of one frame under the sample's crop and augmentation draws."""
    fractions, flips = sample_draws(seed, epoch, position)
    gt, lq = ref.paired_crop(full_gt, full_lq, fractions, GT_SIZE, SCALE)
    return ref.augment([gt, lq], *map(bool, flips)), tuple(int(f) for f in flips)


@pytest.fixture(scope="module")
def reds(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("reds"))
    frames = {f"{c}/{f:08d}": make_frame(int(c), f) for c, n in CLIPS.items() for f in range(n)}
    paths = write_frames(root, frames)
    meta = os.path.join(root, "meta_info_REDS_GT.txt")
    with open(meta, "w") as f:
        for c, n in CLIPS.items():
            f.write(f"{c} {n} ({GT_H},{GT_W},3)\n")
    paths["meta"] = meta
    paths["frames"] = frames
    return paths


def opt(reds, backend="lmdb", **extra):
    suffix = "_lmdb" if backend == "lmdb" else ""
    o = {"name": "REDS", "type": "REDSDataset", "dataroot_gt": reds["gt" + suffix],
         "dataroot_lq": reds["lq" + suffix], "dataroot_flow": None, "meta_info_file": reds["meta"],
         "val_partition": "REDS4", "io_backend": {"type": backend}, "num_frame": 5, "gt_size": GT_SIZE,
         "interval_list": [1, 2], "random_reverse": True, "use_hflip": True, "use_rot": True, "scale": SCALE,
         "use_shuffle": True, "batch_size_per_gpu": 4, "num_worker_per_gpu": 1, "phase": "train"}
    o.update(extra)
    return o


def index(o):
    return build_dataset(load_dataset_options(o))[0]


@pytest.fixture(scope="module")
def lmdb_run(reds):
    loader = build_dataloader(opt(reds), device="cpu", seed=SEED)
    epochs = [list(loader) for _ in range(2)]
    loader.close()
    return loader, epochs


def test_windows_centre_interval_order_and_validation_clips(reds, lmdb_run):
    """LQ = 5 consecutive frames of the GT's clip at a drawn interval, centred on the GT frame."""
    loader, epochs = lmdb_run
    dataset = loader.dataset
    seen_orders, seen_intervals, seen_clips, redrawn = set(), set(), set(), 0
    for epoch, batches in enumerate(epochs):
        indices = loader.plan.shard_indices(epoch)
        assert len(batches) == 7  # 28 training frames, batch 4
        for b, batch in enumerate(batches):
            assert tuple(batch["lq"].shape) == (4, 5, 3, PATCH, PATCH)
            assert tuple(batch["gt"].shape) == (4, 3, GT_SIZE, GT_SIZE)
            for i in range(4):
                _, clip, centre = identity(batch["gt"][i])
                lq_frames = []
                for t in range(5):
                    _, lq_clip, f = identity(batch["lq"][i, t])
                    assert lq_clip == clip
                    lq_frames.append(f)
                assert batch["key"][i] == f"{clip:03d}/{centre:08d}"
                steps = set(np.diff(lq_frames).tolist())
                assert len(steps) == 1, lq_frames
                step = steps.pop()
                assert abs(step) in (1, 2) and lq_frames[2] == centre
                assert 0 <= min(lq_frames) and max(lq_frames) < CLIPS[f"{clip:03d}"]
                seen_orders.add(step > 0)
                seen_intervals.add(abs(step))
                seen_clips.add(f"{clip:03d}")
                # the sample's own frame is the centre unless its window would leave the clip
                own = dataset.samples[int(indices[b * 4 + i])].name
                own_clip, own_frame = own.split("/")
                assert own_clip == f"{clip:03d}"
                half = 2 * abs(step)
                fits = int(own_frame) - half >= 0 and int(own_frame) + half < CLIPS[own_clip]
                if fits:
                    assert int(own_frame) == centre
                else:
                    redrawn += 1
    assert seen_orders == {True, False}
    assert seen_intervals == {1, 2}
    assert seen_clips == set(REDS4_TRAIN)  # 000 and 011 (REDS4) never appear
    assert redrawn > 0


def test_every_frame_shares_the_gt_crop_and_augmentation(reds, lmdb_run):
    """GT patch = crop/augment of the centre frame; each LQ frame = the same window/augment of its own frame."""
    loader, epochs = lmdb_run
    frames = reds["frames"]
    flips_seen = set()
    for epoch, batches in enumerate(epochs):
        for b, batch in enumerate(batches):
            for i in range(4):
                position = loader.plan.position(b, i)
                gt, clip, centre = identity(batch["gt"][i])
                centre_lq = None
                for t in range(5):
                    lq, _, f = identity(batch["lq"][i, t])
                    full_gt, full_lq = frames[f"{clip:03d}/{f:08d}"]
                    (exp_gt, exp_lq), flips = expected_patch(full_gt, full_lq, SEED, epoch, position)
                    assert np.array_equal(lq, exp_lq)
                    if f == centre:
                        assert np.array_equal(gt, exp_gt)
                        centre_lq = lq
                    flips_seen.add(flips)
                assert np.array_equal(cv2.resize(gt, (PATCH, PATCH), interpolation=cv2.INTER_AREA), centre_lq)
    assert len(flips_seen) == 8


def test_disk_and_memcached_give_the_lmdb_batches(reds, lmdb_run, memcached):
    _, epochs = lmdb_run
    disk = build_dataloader(opt(reds, backend="disk"), device="cpu", seed=SEED)
    batches = list(disk)
    disk.close()
    server = memcached()
    o = opt(reds, backend="disk")
    o["io_backend"] = {"type": "memcached", "servers": [server.address]}
    cached = build_dataloader(o, device="cpu", seed=SEED)
    cached_batches = list(cached)
    cached.close()
    for a, c, b in zip(batches, cached_batches, epochs[0]):
        assert a["key"] == c["key"] == b["key"]
        for x in (a, c):
            assert torch.equal(x["gt"], b["gt"]) and torch.equal(x["lq"], b["lq"])


def test_disk_keys_are_png_files_and_lmdb_keys_are_bare(reds):
    disk, lmdb = index(opt(reds, backend="disk")), index(opt(reds))
    rng = np.random.default_rng(0)
    keys = disk.keys_for(0, rng)
    assert keys["gt"][0].startswith("001/") and keys["gt"][0].endswith(".png")
    assert all(k.endswith(".png") for k in keys["lq"])
    assert lmdb.keys_for(0, np.random.default_rng(0)) == {
        role: tuple(k[:-4] for k in ks) for role, ks in keys.items()}


def test_official_partition_drops_240_to_269(reds):
    names = {s.name.split("/")[0] for s in index(opt(reds, val_partition="official")).samples}
    assert names == {"000", "001", "002", "011"}
    names = {s.name.split("/")[0] for s in index(opt(reds)).samples}
    assert names == set(REDS4_TRAIN)
    with pytest.raises(DalisrError, match="val_partition"):
        index(opt(reds, val_partition="REDS5"))


def test_window_redraw_stays_inside_short_clips_and_uses_meta_frame_counts(reds, tmp_path):
    """Clip lengths come from meta info: a 5-frame clip with num_frame 5 has one possible centre."""
    short = {f"001/{f:08d}": make_frame(1, f) for f in range(5)}
    paths = write_frames(str(tmp_path), short)
    meta = tmp_path / "meta.txt"
    meta.write_text(f"001 5 ({GT_H},{GT_W},3)\n")
    o = opt(reds, dataroot_gt=paths["gt_lmdb"], dataroot_lq=paths["lq_lmdb"], meta_info_file=str(meta),
            interval_list=[1])
    dataset = index(o)
    assert len(dataset) == 5
    for index_ in range(5):
        for s in range(30):
            keys = dataset.keys_for(index_, np.random.default_rng(s))
            assert keys["gt"] == ("001/00000002",)
            assert sorted(keys["lq"]) == [f"001/{f:08d}" for f in range(5)]
    # a re-drawn centre is uniform over every centre whose window fits (as BasicSR's re-draw loop)
    dataset = index(opt(reds, interval_list=[1]))
    first_of_002 = [s.name for s in dataset.samples].index("002/00000000")
    centres = [dataset.keys_for(first_of_002, np.random.default_rng(s))["gt"][0] for s in range(300)]
    assert set(centres) == {f"002/{f:08d}" for f in range(2, 8)}
    assert min(centres.count(c) for c in set(centres)) > 25
    # 9 frames, interval 2: the window spans all 9, so every sample is centred on frame 4
    dataset = index(opt(reds, interval_list=[2]))
    for index_ in range(9):
        assert dataset.keys_for(index_, np.random.default_rng(index_))["gt"] == ("001/00000004",)
    # interval 2 cannot fit a 5-frame clip anywhere: an error, not BasicSR's endless re-draw
    with pytest.raises(DalisrError, match="clip '001'.*5 frames"):
        index({**o, "interval_list": [1, 2]})


def test_option_errors(reds):
    with pytest.raises(DalisrError, match="optical flow"):
        index(opt(reds, dataroot_flow="datasets/REDS/flow.lmdb"))
    with pytest.raises(DalisrError, match="odd"):
        index(opt(reds, num_frame=4))
    with pytest.raises(DalisrError, match="interval_list"):
        index(opt(reds, interval_list=[0]))


def test_lmdb_missing_frames_are_named_up_front(reds, tmp_path):
    meta = tmp_path / "meta.txt"
    meta.write_text(f"001 12 ({GT_H},{GT_W},3)\n")  # the LMDBs hold only 9 frames of clip 001
    with pytest.raises(DalisrError, match="001/00000009"):
        index(opt(reds, meta_info_file=str(meta)))


def test_profile_covers_video_pipelines(reds, tmp_path):
    """``dalisr profile`` runs a REDS config: one decode per frame, counted in its figures."""
    import yaml

    from dalisr.diagnose.profile import profile_loader

    path = tmp_path / "reds.yml"
    path.write_text(yaml.safe_dump(opt(reds)))
    report = profile_loader(str(path), iters=2, warmup=1, device="cpu").to_dict()
    assert report["batches"] == 2 and report["samples"] == 8 and report["samples_per_s"] > 0
    assert report["stages"]["source_samples"] > 0


def test_one_frame_lq_is_still_a_stack(reds):
    """BasicSR stacks the neighbour frames (torch.stack), so num_frame 1 gives N x 1 x C x H x W, not N x C x H x W."""
    loader = build_dataloader(opt(reds, num_frame=1), device="cpu", seed=3)
    batch = next(iter(loader))
    loader.close()
    assert tuple(batch["lq"].shape) == (4, 1, 3, PATCH, PATCH)
    assert tuple(batch["gt"].shape) == (4, 3, GT_SIZE, GT_SIZE)
