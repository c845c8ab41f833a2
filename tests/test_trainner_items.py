"""traiNNer-redux's pairedimagedataset through dalisr: val items equal what its reader gives, on every kind of file.

The expectation is its reading rules restated with pyvips, the library it
reads with (tests/trainner_reference.py): 8-bit and 16-bit PNGs (16-bit kept
16-bit, value / 65535), gray made 3-channel, alpha dropped, a PNG GT with a
WebP (lossless and lossy) or JPEG LQ of the same stem in a subfolder, two
folder pairs, sRGB-tagged PNGs; another embedded colour profile is refused.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from dalisr import build_dataloader
from dalisr.errors import DalisrError

from .trainner_data import SCALE, make_trainner_tree, png_with_profile
from .trainner_reference import as_float, read


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_trainner_tree(str(tmp_path_factory.mktemp("trainner")))


def _val_items(section: dict, count: int | None = None) -> list[dict]:
    """The val loader's items (one epoch, or its first ``count``)."""
    out = []
    with build_dataloader(dict(section, scale=SCALE), device="cpu") as loader:
        for b in loader:
            out.append(b)
            if len(out) == count:
                break
    return out


def _chw(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(as_float(img).transpose(2, 0, 1).copy())


def test_val_items_equal_its_reader(tree):
    """Every pair, in its order (folder pair by folder pair, GT stems sorted): paths, and pixels equal to
    pyvips' reading (16-bit gray within one 16-bit level: libvips' gray-to-sRGB transform rounds)."""
    items = _val_items(tree.section(bit_depth=16))
    names = [os.path.relpath(b["gt_path"][0], tree.root) for b in items]
    assert names == ["hr/a.png", "hr/b.png", "hr/sub/c.png", "hr2/d.png", "hr2/e.png", "hr2/f.png", "hr2/g.png"]
    assert [os.path.relpath(b["lq_path"][0], tree.root) for b in items] == [
        "lr/a.webp", "lr/b.png", "lr/sub/c.jpg", "lr2/d.png", "lr2/e.png", "lr2/f.webp", "lr2/g.png"]
    for b in items:
        for role in ("gt", "lq"):
            want = _chw(read(b[f"{role}_path"][0]))
            got = b[role][0]
            assert got.shape == want.shape and got.dtype == torch.float32
            tolerance = 1.5 / 65535 if "/d.png" in b["gt_path"][0] else 1e-7
            assert float((got - want).abs().max()) <= tolerance, (b[f"{role}_path"][0], role)


def test_sixteen_bit_values_keep_their_depth(tree):
    """A 16-bit PNG's every value survives: not a multiple of 257 (what an 8-bit decode widened would give)."""
    (b,) = [x for x in _val_items(tree.section(bit_depth=16)) if x["gt_path"][0].endswith("b.png")]
    levels = b["gt"][0].numpy() * 65535
    assert np.abs(levels - np.round(levels)).max() < 1e-2
    assert (np.round(levels) % 257 != 0).mean() > 0.9


def test_eight_bit_data_stays_eight_bit_and_16_bit_is_refused_there(tree, tmp_path):
    """auto: the first sample decides; an 8-bit loader meeting a 16-bit PNG stops, naming the key and the fix."""
    hr, lr = tmp_path / "hr", tmp_path / "lr"
    hr.mkdir(), lr.mkdir()
    for name, lq_name in (("a.png", "a.webp"), ("f.png", "f.webp")):
        src = tree.gt[0] if name == "a.png" else tree.gt[1]
        shutil.copy(os.path.join(src, name), hr / name)
        shutil.copy(os.path.join(src.replace("hr", "lr"), lq_name), lr / lq_name)
    section = tree.section(dataroot_gt=[str(hr)], dataroot_lq=[str(lr)])
    items = _val_items(section)
    assert [os.path.basename(b["gt_path"][0]) for b in items] == ["a.png", "f.png"]
    for b in items:
        levels = b["gt"][0].numpy() * 255
        assert np.abs(levels - np.round(levels)).max() < 1e-3
    shutil.copy(os.path.join(tree.gt[0], "b.png"), hr / "z.png")
    shutil.copy(os.path.join(tree.lq[0], "b.png"), lr / "z.png")
    with pytest.raises(DalisrError, match=r"z\.png.*16-bit PNG.*bit_depth: 16"):
        _val_items(section)


def test_a_colour_profile_other_than_srgb_is_refused(tree, tmp_path):
    hr, lr = tmp_path / "hr", tmp_path / "lr"
    hr.mkdir(), lr.mkdir()
    rgb = np.zeros((64, 64, 3), np.uint8)
    png_with_profile(str(hr / "x.png"), rgb)
    png_with_profile(str(lr / "x.png"), rgb[::SCALE, ::SCALE].copy())
    with pytest.raises(DalisrError, match=r"x\.png.*colour profile 'Lab identity built-in'.*not sRGB.*Fix: convert"):
        _val_items(tree.section(dataroot_gt=[str(hr)], dataroot_lq=[str(lr)]))
