"""ImageNetPairedDataset (HAT's semantics) served by dalisr: every item equals HAT's __getitem__ built from
basicsr's own functions (tests/bicubic_reference.py) at the crop and flips dalisr drew, to 1e-5, borders
included; the LQ is made in the graph from the crop window only."""

from __future__ import annotations

import pytest

from dalisr.prep.sample_imagenet import ODD, SIZES, make_imagenet_sample
from tests.bicubic_support import GT_SIZES, imagenet_opt, max_diff, pairs_beside_reference

TOLERANCE = 1e-5


@pytest.fixture(scope="session")
def imagenet(tmp_path_factory):
    return make_imagenet_sample(str(tmp_path_factory.mktemp("imagenet")))


def test_the_sample_holds_the_cases_that_matter(imagenet):
    """Sizes not a multiple of 3 (nor mostly of 4), images shorter than a 256 crop, and the odd encodings."""
    assert any(h % 3 and w % 3 for h, w in SIZES) and any(h % 4 or w % 4 for h, w in SIZES)
    assert any(min(h, w) < max(GT_SIZES.values()) for h, w in SIZES)
    assert set(ODD.values()) == {"gray", "cmyk", "png", "progressive", "exif6"}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_training_items_equal_hat_reference(imagenet, scale):
    seen = 0
    for path, ours, ref in pairs_beside_reference(imagenet_opt(imagenet, scale), epochs=2):
        assert max_diff(ours, ref) <= TOLERANCE, path
        assert ours["gt"].shape == (3, GT_SIZES[scale], GT_SIZES[scale]) and ours["lq"].shape == (3, 64, 64)
        seen += 1
    assert seen == 2 * 24


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_val_whole_images_equal_hat_reference(imagenet, scale):
    seen = 0
    for path, ours, ref in pairs_beside_reference(imagenet_opt(imagenet, scale, phase="val")):
        assert max_diff(ours, ref) <= TOLERANCE, path
        seen += 1
    assert seen == 24


def test_y_channel_and_normalisation(imagenet):
    """color: y is BasicSR's bgr2ycbcr (not HAT's rgb2ycbcr on BGR data); mean/std after it."""
    opt = imagenet_opt(imagenet, 4, color="y", mean=[0.4], std=[0.2])
    for path, ours, ref in pairs_beside_reference(opt):
        assert ours["gt"].shape[0] == 1 and max_diff(ours, ref) <= TOLERANCE * 5, path  # /std scales the error
    opt = imagenet_opt(imagenet, 3, phase="val", mean=[0.5, 0.4, 0.3], std=[0.2, 0.25, 0.3])
    for path, ours, ref in pairs_beside_reference(opt):
        assert max_diff(ours, ref) <= TOLERANCE * 5, path


@pytest.mark.parametrize("name", ["PairedImageNetDataset", "BicubicFromGTDataset"])
def test_every_name_serves_the_same_items(imagenet, name):
    """HMA's name and dalisr's own give HAT's semantics too."""
    for path, ours, ref in pairs_beside_reference(imagenet_opt(imagenet, 4, type=name)):
        assert max_diff(ours, ref) <= TOLERANCE, path


def test_batch_keys_are_hats_and_dalisrs_own_name_adds_lq_path(imagenet):
    """HAT's class returns lq, gt, gt_path; BicubicFromGTDataset also lq_path, which BasicSR's SRModel names
    validation images by (the same path: the LQ is made from that image)."""
    from dalisr import build_dataloader

    with build_dataloader(imagenet_opt(imagenet, 4), device="cpu") as loader:
        assert set(next(iter(loader))) == {"lq", "gt", "gt_path"}
    with build_dataloader(imagenet_opt(imagenet, 4, type="BicubicFromGTDataset"), device="cpu") as loader:
        batch = next(iter(loader))
    assert set(batch) == {"lq", "gt", "gt_path", "lq_path"} and batch["lq_path"] == batch["gt_path"]
