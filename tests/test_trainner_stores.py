"""What traiNNer-redux lacks, as dalisr's plus: its option files on LMDB (made from its folders by `dalisr
create-lmdb --dataset tree`), png-seek 16-bit, memcached, torchrun shards; and `dalisr verify`, `preview` and
`profile` on its option file."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from dalisr import build_dataloader
from dalisr.cli import main

from .trainner_data import SCALE, batches, make_trainner_tree, png_with_profile


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """The tree's first folder pair without its 16-bit gray pair, and a 16-bit pair of its own."""
    t = make_trainner_tree(str(tmp_path_factory.mktemp("trainner")))
    return t


def _lmdbs(tree, tmp_path, codec: str = "png") -> list[list[str]]:
    """GT and LQ LMDBs of every folder of the tree, made by the CLI; [[gt...], [lq...]]."""
    out = [[], []]
    for side, folders in enumerate((tree.gt, tree.lq)):
        for i, folder in enumerate(folders):
            dst = str(tmp_path / f"{'gt' if side == 0 else 'lq'}{i}_{codec}.lmdb")
            result = CliRunner().invoke(main, ["create-lmdb", folder, dst, "--dataset", "tree", "--codec", codec])
            assert result.exit_code == 0, result.output
            out[side].append(dst)
    return out


def _seeded(section: dict, count: int, **kw) -> list[dict]:
    return batches(section, count, seed=4, **kw)


@pytest.mark.parametrize("codec", ["png", "png-seek"])
def test_its_option_file_on_lmdbs_gives_the_folders_batches(tree, tmp_path, codec):
    """LMDBs made from its folders (keys: paths below each folder, extensions dropped) pair by key and give the
    same training batches, 16-bit values included, as the folders do; png-seek values are cut from restart points."""
    gt, lq = _lmdbs(tree, tmp_path, codec)
    disk = tree.section("train", lq_size=12, batch_size_per_gpu=4, bit_depth=16)
    lmdb = dict(disk, dataroot_gt=gt, dataroot_lq=lq, io_backend={"type": "lmdb"})
    a, b = _seeded(disk, 3), _seeded(lmdb, 3)
    for x, y in zip(a, b):
        assert torch.equal(x["gt"], y["gt"]) and torch.equal(x["lq"], y["lq"])
        assert [os.path.splitext(os.path.relpath(p, tree.root))[0].split("/", 1)[1] for p in x["gt_path"]] == \
            [os.path.relpath(k, tmp_path).split("/", 1)[1] for k in y["gt_path"]]
    assert any(p.endswith("b") for batch in b for p in batch["gt_path"])  # a 16-bit pair was read from the LMDB


def test_create_lmdb_tree_refuses_what_it_cannot_keep(tree, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(os.path.join(tree.gt[0], "a.png"), folder / "sub" / "a.png")
    png_with_profile(str(folder / "p.png"), np.zeros((8, 8, 3), np.uint8))
    result = CliRunner().invoke(main, ["create-lmdb", str(folder), str(tmp_path / "x.lmdb"), "--dataset", "tree"])
    assert result.exit_code == 1 and "p.png" in result.output and "not sRGB" in result.output
    assert not (tmp_path / "x.lmdb").exists()
    os.remove(folder / "p.png")
    shutil.copy(os.path.join(tree.lq[0], "a.webp"), folder / "sub" / "a.webp")
    result = CliRunner().invoke(main, ["create-lmdb", str(folder), str(tmp_path / "x.lmdb"), "--dataset", "tree"])
    assert result.exit_code == 1 and "sub/a.png and sub/a.webp: one key, two files" in result.output


def test_memcached_gives_the_disk_batches(tree, tmp_path, memcached):
    """memcached cannot list keys: its ``meta_info`` names the files under each folder (here one folder pair)."""
    server = memcached()
    names = tmp_path / "names.txt"
    names.write_text("a.png\nsub/c.png\n")
    disk = tree.section("train", dataroot_gt=[tree.gt[0]], dataroot_lq=[tree.lq[0]], meta_info=str(names),
                        filename_tmpl="{}", lq_size=8, batch_size_per_gpu=2)
    disk_lq = tmp_path / "lq"  # by meta_info the LQ shares the GT's name: a PNG copy of each LQ
    (disk_lq / "sub").mkdir(parents=True)
    import cv2

    for src, dst in (("a.webp", "a.png"), ("sub/c.jpg", "sub/c.png")):
        cv2.imwrite(str(disk_lq / dst), cv2.imread(os.path.join(tree.lq[0], src), cv2.IMREAD_UNCHANGED))
    disk["dataroot_lq"] = [str(disk_lq)]
    cached = dict(disk, io_backend={"type": "memcached", "servers": [server.address]})
    for x, y in zip(_seeded(disk, 2), _seeded(cached, 2)):
        assert torch.equal(x["gt"], y["gt"]) and torch.equal(x["lq"], y["lq"]) and x["gt_path"] == y["gt_path"]


def test_shards_split_its_epoch(tree):
    """Two ranks (torchrun's shards) read disjoint halves of each epoch of its dataset."""
    section = tree.section("train", lq_size=8, batch_size_per_gpu=1, dataset_enlarge_ratio=1, bit_depth=16)
    seen = []
    for shard in (0, 1):
        with build_dataloader(dict(section, scale=SCALE), device="cpu", shard_id=shard, num_shards=2) as loader:
            seen.append([p for b in loader for p in b["gt_path"]])
    assert len(seen[0]) == len(seen[1]) == 3 and not set(seen[0]) & set(seen[1])


def test_verify_preview_and_profile_take_its_option_file(tree, tmp_path):
    path = tree.options_file(str(tmp_path / "opt.yml"), train=tree.section("train", lq_size=8, bit_depth=16,
                                                                          dataset_enlarge_ratio=2))
    result = CliRunner().invoke(main, ["verify", path])
    assert result.exit_code == 0 and "OK: 14 images checked" in result.output, result.output
    report = tmp_path / "p.json"
    result = CliRunner().invoke(main, ["profile", path, "--iters", "2", "--warmup", "1", "--device", "cpu",
                                       "--json", str(report)])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["samples"] == 8
    out = tmp_path / "preview.png"
    result = CliRunner().invoke(main, ["preview", path, "-o", str(out), "--device", "cpu"])
    assert result.exit_code == 0 and out.stat().st_size > 1000, result.output
    # a colour profile other than sRGB in one of its folders is a problem verify names
    bad = tmp_path / "bad"
    shutil.copytree(tree.gt[0], bad / "hr")
    shutil.copytree(tree.lq[0], bad / "lr")
    png_with_profile(str(bad / "hr" / "a.png"), np.zeros((160, 192, 3), np.uint8))
    path = tree.options_file(str(tmp_path / "bad.yml"), train=tree.section(
        "train", dataroot_gt=[str(bad / "hr")], dataroot_lq=[str(bad / "lr")]))
    result = CliRunner().invoke(main, ["verify", path])
    assert result.exit_code == 1 and "a.png embeds the colour profile 'Lab identity built-in'" in result.output
