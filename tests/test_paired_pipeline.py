"""The paired DALI pipeline against BasicSR's semantics, on the CPU backend."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch

from dalisr import DalisrError, build_dataloader
from dalisr.sampling import sample_draws
from tests import reference as ref


def opt(sample_set, scale=4, backend="lmdb", **extra):
    if backend == "lmdb":
        gt, lq = sample_set.gt_lmdb, sample_set.lq_lmdb(scale)
    else:
        gt, lq = sample_set.gt_folder, sample_set.lq_folder(scale)
    o = {"name": "t", "type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq,
         "io_backend": {"type": backend}, "gt_size": 64, "scale": scale, "use_hflip": True, "use_rot": True,
         "batch_size_per_gpu": 4, "num_worker_per_gpu": 2, "use_shuffle": True, "phase": "train"}
    o.update(extra)
    return o


def collect(loader, epochs=1):
    out = []
    for _ in range(epochs):
        out.extend(loader)
    return out


def images(sample_set, scale):
    names = sorted(n[:-4] for n in os.listdir(sample_set.gt_folder))
    gt = {n: cv2.imread(os.path.join(sample_set.gt_folder, n + ".png")) for n in names}
    lq = {n: cv2.imread(os.path.join(sample_set.lq_folder(scale), n + ".png")) for n in names}
    return gt, lq


@pytest.fixture(scope="module")
def three_epochs(sample_set):
    loader = build_dataloader(opt(sample_set), device="cpu", seed=3)
    batches = [collect(loader) for _ in range(3)]
    loader.close()
    return loader, batches


def test_alignment_invariant_on_every_sample_of_several_epochs(three_epochs):
    """LQ is the 4x4 block mean (INTER_AREA) of GT: so is every returned LQ patch of its GT patch."""
    _, epochs = three_epochs
    count = 0
    for batches in epochs:
        for batch in batches:
            for gt, lq in zip(batch["gt"], batch["lq"]):
                gt8, lq8 = ref.to_uint8(gt), ref.to_uint8(lq)
                assert gt8.shape == (64, 64, 3) and lq8.shape == (16, 16, 3)
                assert np.array_equal(cv2.resize(gt8, (16, 16), interpolation=cv2.INTER_AREA), lq8)
                count += 1
    assert count == 3 * 2 * 4


def test_batches_equal_basicsr_reference_and_all_8_augmentations_occur(three_epochs, sample_set):
    """Each sample equals paired_random_crop + augment + img2tensor (RGB, CHW, /255) on the same draws."""
    loader, epochs = three_epochs
    gt_imgs, lq_imgs = images(sample_set, 4)
    combos = set()
    for epoch, batches in enumerate(epochs):
        for b, batch in enumerate(batches):
            for i in range(4):
                fractions, flips = sample_draws(3, epoch, loader.plan.position(b, i))
                name = batch["gt_path"][i]
                assert batch["lq_path"][i] == name
                gt, lq = ref.paired_crop(gt_imgs[name], lq_imgs[name], fractions, 64, 4)
                gt, lq = ref.augment([gt, lq], *map(bool, flips))
                np.testing.assert_allclose(batch["gt"][i].numpy(), ref.img2tensor(gt), atol=1e-6)
                np.testing.assert_allclose(batch["lq"][i].numpy(), ref.img2tensor(lq), atol=1e-6)
                combos.add(tuple(int(f) for f in flips))
    assert len(combos) == 8


def test_tensor_types_and_paths(three_epochs):
    _, epochs = three_epochs
    batch = epochs[0][0]
    assert batch["gt"].dtype == torch.float32 and tuple(batch["gt"].shape) == (4, 3, 64, 64)
    assert tuple(batch["lq"].shape) == (4, 3, 16, 16)
    assert 0.0 <= float(batch["gt"].min()) and float(batch["gt"].max()) <= 1.0
    assert all(isinstance(p, str) for p in batch["gt_path"])


def test_epochs_reshuffle_and_cover_the_dataset(three_epochs):
    _, epochs = three_epochs
    orders = [[p for b in batches for p in b["gt_path"]] for batches in epochs]
    assert all(len(set(o)) == 8 for o in orders)  # 8 samples, batch 4: every sample once per epoch
    assert orders[0] != orders[1] or orders[1] != orders[2]


def test_same_seed_same_batches_other_seed_other_batches(sample_set, three_epochs):
    _, epochs = three_epochs
    again = build_dataloader(opt(sample_set), device="cpu", seed=3)
    first = collect(again)
    again.close()
    assert [b["gt_path"] for b in first] == [b["gt_path"] for b in epochs[0]]
    assert all(torch.equal(a["gt"], b["gt"]) for a, b in zip(first, epochs[0]))
    other = build_dataloader(opt(sample_set), device="cpu", seed=4)
    second = collect(other)
    other.close()
    assert any(not torch.equal(a["gt"], b["gt"]) for a, b in zip(second, first))


def test_disk_and_lmdb_give_identical_batches(sample_set, three_epochs):
    _, epochs = three_epochs
    disk = build_dataloader(opt(sample_set, backend="disk"), device="cpu", seed=3)
    batches = collect(disk)
    disk.close()
    for a, b in zip(batches, epochs[0]):
        assert [os.path.basename(p)[:-4] for p in a["gt_path"]] == b["gt_path"]
        assert torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"])


def test_memcached_gives_identical_batches(sample_set, memcached, three_epochs):
    _, epochs = three_epochs
    server = memcached()
    o = opt(sample_set, backend="disk")
    o["io_backend"] = {"type": "memcached", "servers": [server.address]}
    loader = build_dataloader(o, device="cpu", seed=3)
    for _ in range(2):  # the first epoch fills the cache, the second reads from it
        batches = collect(loader)
    loader.close()
    assert [b["gt"].sum() for b in batches] != []
    rerun = build_dataloader(opt(sample_set), device="cpu", seed=3)
    rerun.set_epoch(1)
    expected = collect(rerun)
    rerun.close()
    for a, b in zip(batches, expected):
        assert torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"])


def test_shards_are_disjoint_complete_and_equal(sample_set):
    o = opt(sample_set, batch_size_per_gpu=2, use_hflip=False, use_rot=False)
    seen = []
    for shard in range(2):
        loader = build_dataloader(o, device="cpu", shard_id=shard, num_shards=2, seed=1)
        assert len(loader) == 2
        seen.append([p for b in collect(loader) for p in b["gt_path"]])
        loader.close()
    assert len(seen[0]) == len(seen[1]) == 4
    assert not set(seen[0]) & set(seen[1])
    assert set(seen[0]) | set(seen[1]) == {f"0001_s00{i}" for i in range(1, 5)} | {f"0002_s00{i}" for i in range(1, 5)}


def test_resume_reproduces_the_rest_of_the_epoch(sample_set):
    o = opt(sample_set, batch_size_per_gpu=2)
    full = build_dataloader(o, device="cpu", seed=7)
    full.set_epoch(2)
    whole = collect(full)
    full.close()
    part = build_dataloader(o, device="cpu", seed=7)
    part.set_epoch(2)
    it = iter(part)
    head = [next(it), next(it)]
    state = part.state_dict()
    part.close()
    assert state["epoch"] == 2 and state["batch"] == 2
    resumed = build_dataloader(o, device="cpu", seed=7)
    resumed.load_state_dict(state)
    tail = collect(resumed)
    resumed.close()
    assert len(tail) == len(whole) - 2
    for a, b in zip(head + tail, whole):
        assert a["gt_path"] == b["gt_path"] and torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"])


def test_last_batch_pad_sees_every_sample(sample_set):
    o = opt(sample_set, batch_size_per_gpu=3, last_batch="pad")
    loader = build_dataloader(o, device="cpu")
    assert len(loader) == 3
    paths = [p for b in collect(loader) for p in b["gt_path"]]
    loader.close()
    assert len(paths) == 9 and len(set(paths)) == 8
    drop = build_dataloader(opt(sample_set, batch_size_per_gpu=3), device="cpu")
    assert len(drop) == 2
    drop.close()


def test_color_y_matches_basicsr_formula(sample_set):
    o = opt(sample_set, color="y", use_hflip=False, use_rot=False, phase="val", batch_size_per_gpu=1,
            num_worker_per_gpu=1)
    loader = build_dataloader(o, device="cpu")
    batch = next(iter(loader))
    loader.close()
    name = batch["gt_path"][0]
    gt_imgs, lq_imgs = images(sample_set, 4)
    expected_gt = ref.bgr2y(gt_imgs[name].astype(np.float32) / 255.0)
    expected_lq = ref.bgr2y(lq_imgs[name].astype(np.float32) / 255.0)
    assert tuple(batch["gt"].shape) == (1, 1, 480, 480)
    np.testing.assert_allclose(batch["gt"][0, 0].numpy(), expected_gt, atol=1e-6)
    np.testing.assert_allclose(batch["lq"][0, 0].numpy(), expected_lq, atol=1e-6)


def test_mean_std_are_applied_in_rgb_order(sample_set):
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.5]
    o = opt(sample_set, mean=mean, std=std, phase="val", batch_size_per_gpu=1, num_worker_per_gpu=1)
    loader = build_dataloader(o, device="cpu")
    batch = next(iter(loader))
    loader.close()
    gt_imgs, _ = images(sample_set, 4)
    expected = ref.img2tensor(gt_imgs[batch["gt_path"][0]], mean, std)
    np.testing.assert_allclose(batch["gt"][0].numpy(), expected, atol=1e-5)


def test_val_phase_keeps_whole_images_and_crops_gt_to_lq_times_scale(sample_set, tmp_path):
    gt_dir, lq_dir = tmp_path / "gt", tmp_path / "lq"
    gt_dir.mkdir()
    lq_dir.mkdir()
    rng = np.random.default_rng(0)
    red = np.zeros((50, 62, 3), np.uint8)
    red[:, :, 2] = 255  # BGR red
    cv2.imwrite(str(gt_dir / "a.png"), red)
    cv2.imwrite(str(lq_dir / "a.png"), red[:12, :15])  # GT 50x62 is cut to 48x60
    cv2.imwrite(str(gt_dir / "b.png"), rng.integers(0, 255, (40, 44, 3), np.uint8))
    cv2.imwrite(str(lq_dir / "b.png"), rng.integers(0, 255, (10, 11, 3), np.uint8))
    o = {"type": "PairedImageDataset", "dataroot_gt": str(gt_dir), "dataroot_lq": str(lq_dir),
         "io_backend": {"type": "disk"}, "scale": 4, "phase": "val", "num_worker_per_gpu": 1}
    loader = build_dataloader(o, device="cpu")
    batches = collect(loader)
    loader.close()
    assert len(batches) == 2 and batches[0]["gt_path"][0].endswith("a.png")
    a = batches[0]
    assert tuple(a["gt"].shape) == (1, 3, 48, 60) and tuple(a["lq"].shape) == (1, 3, 12, 15)
    assert float(a["gt"][0, 0].min()) == 1.0 and float(a["gt"][0, 1:].max()) == 0.0  # RGB: red is channel 0
    assert tuple(batches[1]["gt"].shape) == (1, 3, 40, 44)


def _bad_set(sample_set, tmp_path, damage):
    gt_dir, lq_dir = tmp_path / "gt", tmp_path / "lq"
    gt_dir.mkdir()
    lq_dir.mkdir()
    for n in sorted(os.listdir(sample_set.gt_folder))[:4]:
        (gt_dir / n).write_bytes(open(os.path.join(sample_set.gt_folder, n), "rb").read())
        (lq_dir / n).write_bytes(open(os.path.join(sample_set.lq_folder(4), n), "rb").read())
    damage(lq_dir / "0001_s003.png")
    o = {"type": "PairedImageDataset", "dataroot_gt": str(gt_dir), "dataroot_lq": str(lq_dir),
         "io_backend": {"type": "disk"}, "gt_size": 64, "scale": 4, "batch_size_per_gpu": 2,
         "num_worker_per_gpu": 1, "use_shuffle": False}
    return o


def _shrink(path):
    img = cv2.imread(str(path))
    cv2.imwrite(str(path), img[:100])


def _tiny(path):
    cv2.imwrite(str(path), cv2.imread(str(path))[:8, :8])


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage,words", [
    (_shrink, ["Scale mismatches", "0001_s003.png", "(480, 480)", "(100, 120)"]),
    (_truncate, ["0001_s003.png", "does not decode", "disk store"]),
])
def test_bad_inputs_name_the_key(sample_set, tmp_path, damage, words):
    loader = build_dataloader(_bad_set(sample_set, tmp_path, damage), device="cpu")
    with pytest.raises(DalisrError) as err:
        collect(loader)
    loader.close()
    for w in words:
        assert w in str(err.value)


def test_lq_smaller_than_patch_is_refused(sample_set, tmp_path):
    o = _bad_set(sample_set, tmp_path, _tiny)
    o["scale"] = 1
    o["dataroot_lq"] = o["dataroot_gt"]
    o["gt_size"] = 64
    (tmp_path / "gt" / "0001_s003.png").write_bytes((tmp_path / "lq" / "0001_s003.png").read_bytes())
    loader = build_dataloader(o, device="cpu")
    with pytest.raises(DalisrError, match=r"smaller than the patch size .*Please remove 0001_s003.png"):
        collect(loader)
    loader.close()


def test_lmdb_meta_info_scale_mismatch_is_caught_before_decoding(sample_set):
    with pytest.raises(DalisrError, match=r"Scale mismatches for key '0001_s001'.*\(480, 480\).*\(240, 240\)"):
        build_dataloader(opt(sample_set, scale=2, gt_size=96) | {"scale": 3}, device="cpu")
