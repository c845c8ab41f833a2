"""SingleImageDataset (LQ only, whole images) and RealESRGANPairedDataset (paired crops, Real-ESRGAN's list rules)."""

from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pytest
import torch

from dalisr import DalisrError, build_dataloader
from dalisr.prep.convert import convert_lmdb
from dalisr.sampling import sample_draws
from tests import reference as ref


def run(o, epochs=1, seed=0) -> list[dict]:
    loader = build_dataloader(o, device="cpu", seed=seed)
    batches = [b for _ in range(epochs) for b in loader]
    loader.close()
    return batches


def close(actual, expected) -> None:
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=0, atol=1e-6)


def names(sample_set) -> list[str]:
    return sorted(os.listdir(sample_set.lq_folder(4)))


# -- SingleImageDataset ------------------------------------------------------------------------------------------
def single(folder, backend="disk", **extra):
    o = {"name": "Set5", "type": "SingleImageDataset", "dataroot_lq": folder, "io_backend": {"type": backend},
         "phase": "val", "num_worker_per_gpu": 1}
    o.update(extra)
    return o


def test_single_image_folder_whole_images_and_paths(sample_set):
    folder = sample_set.lq_folder(4)
    batches = run(single(folder))
    assert len(batches) == 8
    for batch, name in zip(batches, names(sample_set)):
        assert set(batch) == {"lq", "lq_path"}
        assert batch["lq_path"] == [os.path.join(folder, name)]
        close(batch["lq"][0], ref.img2tensor(cv2.imread(os.path.join(folder, name))))


def test_single_image_lmdb_meta_info_file_and_memcached(sample_set, tmp_path, memcached):
    folder = sample_set.lq_folder(4)
    by_folder = run(single(folder))
    lmdb = run(single(sample_set.lq_lmdb(4), backend="lmdb"))
    assert [b["lq_path"][0] for b in lmdb] == [n[:-4] for n in names(sample_set)]  # LMDB: the keys
    assert all(torch.equal(a["lq"], b["lq"]) for a, b in zip(by_folder, lmdb))
    server = memcached()
    cached = run(single(folder, io_backend={"type": "memcached", "servers": [server.address]}))
    assert all(torch.equal(a["lq"], b["lq"]) and a["lq_path"] == b["lq_path"] for a, b in zip(by_folder, cached))
    convert_lmdb(sample_set.lq_lmdb(4), str(tmp_path / "lq_raw.lmdb"), "raw")  # pixels sliced from the map
    raw = run(single(str(tmp_path / "lq_raw.lmdb"), backend="lmdb"))
    assert all(torch.equal(a["lq"], b["lq"]) and a["lq_path"] == b["lq_path"] for a, b in zip(lmdb, raw))
    meta = tmp_path / "meta.txt"
    picked = names(sample_set)[::-3]
    meta.write_text("".join(f"{n} (120,120,3)\n" for n in picked))  # file order, first token
    listed = run(single(folder, meta_info_file=str(meta)))
    assert [b["lq_path"][0] for b in listed] == [os.path.join(folder, n) for n in picked]


def test_single_image_y_mean_std_and_never_cropped(sample_set):
    folder = sample_set.lq_folder(4)
    first = cv2.imread(os.path.join(folder, names(sample_set)[0]))
    y = run(single(folder, color="y"))[0]
    assert tuple(y["lq"].shape) == (1, 1, 120, 120)
    close(y["lq"][0], ref.img2tensor(ref.bgr2y(first.astype(np.float32) / 255.0)))
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.5]
    normed = run(single(folder, mean=mean, std=std))[0]
    np.testing.assert_allclose(normed["lq"][0].numpy(), ref.img2tensor(first, mean, std), rtol=0, atol=1e-5)
    # BasicSR's SingleImageDataset never crops or flips, whatever the phase says
    trained = run(single(folder, phase="train", gt_size=32, use_hflip=True, use_rot=True, batch_size_per_gpu=1,
                         use_shuffle=False))
    assert tuple(trained[0]["lq"].shape) == (1, 3, 120, 120)
    close(trained[0]["lq"][0], ref.img2tensor(first))


# -- RealESRGANPairedDataset -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def renamed(sample_set, tmp_path_factory):
    """The x4 LQ under other names (``{name}x4.png``) and a Real-ESRGAN ``meta_info`` pairing them."""
    root = tmp_path_factory.mktemp("realesrgan")
    lq = root / "lq"
    lq.mkdir()
    lines = []
    for name in names(sample_set):
        lq_name = name[:-4] + "x4.png"
        shutil.copy(os.path.join(sample_set.lq_folder(4), name), lq / lq_name)
        lines.append(f"{name}, {lq_name}\n")
    (root / "meta_info.txt").write_text("".join(lines[::-1]))  # file order is kept
    return root


def paired(gt, lq, backend="disk", **extra):
    o = {"name": "DF2K", "type": "RealESRGANPairedDataset", "dataroot_gt": gt, "dataroot_lq": lq,
         "io_backend": {"type": backend}, "gt_size": 64, "scale": 4, "use_hflip": True, "use_rot": True,
         "batch_size_per_gpu": 4, "num_worker_per_gpu": 1, "phase": "train"}
    o.update(extra)
    return o


def test_realesrgan_paired_meta_info_crops_flips_and_paths(sample_set, renamed):
    o = paired(sample_set.gt_folder, str(renamed / "lq"), meta_info=str(renamed / "meta_info.txt"))
    loader = build_dataloader(o, device="cpu", seed=9)
    epochs = [list(loader) for _ in range(3)]
    loader.close()
    combos = set()
    for epoch, batches in enumerate(epochs):
        for b, batch in enumerate(batches):
            assert set(batch) == {"lq", "gt", "lq_path", "gt_path"}
            for i in range(4):
                gt_path, lq_path = batch["gt_path"][i], batch["lq_path"][i]
                assert os.path.dirname(gt_path) == sample_set.gt_folder
                assert lq_path == os.path.join(str(renamed / "lq"), os.path.basename(gt_path)[:-4] + "x4.png")
                fractions, flips = sample_draws(9, epoch, loader.plan.position(b, i))
                gt, lq = ref.paired_crop(cv2.imread(gt_path), cv2.imread(lq_path), fractions, 64, 4)
                gt, lq = ref.augment([gt, lq], *map(bool, flips))
                close(batch["gt"][i], ref.img2tensor(gt))
                close(batch["lq"][i], ref.img2tensor(lq))
                gt8, lq8 = ref.to_uint8(batch["gt"][i]), ref.to_uint8(batch["lq"][i])
                assert np.array_equal(cv2.resize(gt8, (16, 16), interpolation=cv2.INTER_AREA), lq8)
                combos.add(tuple(int(f) for f in flips))
    assert len(combos) == 8


def test_realesrgan_paired_lmdb_and_folder_rules(sample_set, renamed, caplog):
    """LMDB and folder scan (filename_tmpl) are PairedImageDataset's rules: the same batches for the same seed."""
    lmdb = run(paired(sample_set.gt_lmdb, sample_set.lq_lmdb(4), backend="lmdb", mean=[0.5] * 3, std=[0.5] * 3))
    plain = run({**paired(sample_set.gt_lmdb, sample_set.lq_lmdb(4), backend="lmdb", mean=[0.5] * 3,
                          std=[0.5] * 3), "type": "PairedImageDataset"})
    for a, b in zip(lmdb, plain):
        assert torch.equal(a["gt"], b["gt"]) and torch.equal(a["lq"], b["lq"]) and a["gt_path"] == b["gt_path"]
    assert float(lmdb[0]["gt"].min()) < 0  # (x - 0.5) / 0.5
    scanned = run(paired(sample_set.gt_folder, str(renamed / "lq"), filename_tmpl="{}x4",
                         meta_info_file=str(renamed / "meta_info.txt")))
    assert "ignored by RealESRGANPairedDataset" in caplog.text  # BasicSR reads meta_info, not meta_info_file
    assert all(p.endswith("x4.png") for b in scanned for p in b["lq_path"])
    folder = run(paired(sample_set.gt_folder, sample_set.lq_folder(4)))
    for a, b in zip(folder, lmdb):  # the same crops; mean/std applied to GT and LQ
        assert torch.allclose(a["lq"] * 2 - 1, b["lq"], atol=1e-6) and torch.allclose(a["gt"] * 2 - 1, b["gt"],
                                                                                      atol=1e-6)


def test_realesrgan_paired_meta_info_errors(sample_set, renamed, tmp_path):
    bad = tmp_path / "meta.txt"
    bad.write_text("0001.png 0001x4.png\n")
    with pytest.raises(DalisrError, match="gt_relpath, lq_relpath"):
        run(paired(sample_set.gt_folder, str(renamed / "lq"), meta_info=str(bad)))
    with pytest.raises(DalisrError, match="does not exist"):
        run(paired(sample_set.gt_folder, str(renamed / "lq"), meta_info=str(tmp_path / "none.txt")))


def test_preview_of_an_lq_only_set(sample_set, tmp_path):
    import yaml
    from click.testing import CliRunner

    from dalisr.cli import main

    config = tmp_path / "single.yml"
    config.write_text(yaml.safe_dump(single(sample_set.lq_folder(4))))
    out = tmp_path / "sheet.png"
    result = CliRunner().invoke(main, ["preview", str(config), "--out", str(out), "--device", "cpu"],
                                catch_exceptions=False)
    assert result.exit_code == 0 and "1 LQ images" in result.output
    assert cv2.imread(str(out)).shape == (120, 120, 3)
