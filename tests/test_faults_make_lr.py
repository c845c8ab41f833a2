"""make-lr gives BasicSR's bicubic LR: its matlab_functions.imresize in floats, rounded once at the end."""

from __future__ import annotations

import numpy as np
import pytest

from dalisr.prep.imresize import imresize_down
from tests.degrade_reference import basicsr_module


def basicsr_imresize():
    """BasicSR's own ``imresize`` (the ``basicsr`` extra), or skip where basicsr is not installed."""
    return basicsr_module("utils.matlab_functions").imresize


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_make_lr_matches_basicsr_imresize_on_odd_sizes(factor, channels):
    imresize = basicsr_imresize()
    rng = np.random.default_rng(factor * 10 + channels)
    shape = (61, 47) if channels == 1 else (61, 47, channels)
    # noise over a gradient: plenty of values that rounding between the passes would change
    ramp = np.linspace(-60, 60, 47).reshape((1, 47) + (1,) * (len(shape) - 2))
    img = np.clip(rng.normal(128, 60, shape) + ramp, 0, 255).astype(np.uint8)
    ours = imresize_down(img, factor)
    ref = imresize(img.astype(np.float64) / 255.0, 1 / factor)
    ref = np.clip(np.floor(np.asarray(ref, np.float64) * 255.0 + 0.5), 0, 255).astype(np.uint8)
    assert ours.shape == ref.shape
    diff = np.abs(ours.astype(int) - ref.astype(int))
    assert diff.max() <= 1
    assert (diff > 0).mean() <= 0.001


def test_rounding_happens_once():
    # independent of BasicSR: a 1-D resize of the row pass's unrounded values, rounded once
    img = np.random.default_rng(3).integers(0, 256, (9, 9), dtype=np.uint8)
    from dalisr.degrade.bicubic import contributions

    w, idx = contributions(9, 3, 1 / 3)
    rows = np.einsum("op,opw->ow", w, img.astype(np.float64)[idx])
    both = np.einsum("op,hop->ho", w, rows[:, idx])
    np.testing.assert_array_equal(imresize_down(img, 3), np.floor(np.clip(both, 0, 255) + 0.5).astype(np.uint8))
