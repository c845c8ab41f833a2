"""make-lr: MATLAB's bicubic imresize against values worked out by hand from the kernel."""

from __future__ import annotations

import os

import cv2
import numpy as np
from click.testing import CliRunner

from dalisr.cli import main
from dalisr.degrade.bicubic import contributions
from dalisr.prep.imresize import imresize_down


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_constant_image_stays_constant():
    for factor in (2, 3, 4):
        img = np.full((37, 53, 3), 123, np.uint8)
        out = imresize_down(img, factor)
        assert out.shape == (-(-37 // factor), -(-53 // factor), 3)  # MATLAB: ceil(size / factor)
        assert out.dtype == np.uint8 and (out == 123).all()


def test_linear_ramp_stays_linear_inside():
    # v(x) = 2x + 20 along the width (x from 0), rows alike. Output column j (from 1) is centred on
    # input x = 4j - 2.5 (MATLAB: u = j*4 + 0.5*(1 - 4), 1-based), and the cubic kernel reproduces
    # straight lines, so where its 16-pixel footprint stays inside the image (j = 3..14) the value
    # is exactly 2(4j - 2.5) + 20 = 8j + 15.
    ramp = (2 * np.arange(64) + 20).astype(np.uint8)
    img = np.tile(ramp, (16, 1))
    out = imresize_down(img, 4)
    assert out.shape == (4, 16)
    j = np.arange(3, 15)
    for row in out:
        np.testing.assert_array_equal(row[j - 1], 8 * j + 15)


def test_small_array_against_hand_computed_values():
    # Width 8 -> 4 at scale 1/2: kernel h(d) = 0.5 * cubic(0.5 d), width 8, P = 10 taps.
    # Output 1: u = 1.5, taps at 1-based -3..6, |d| = 4.5 3.5 2.5 1.5 0.5 ... -> weights
    #   0, -0.01171875, -0.03515625, 0.11328125, 0.43359375 (mirrored), summing to 1;
    #   indices 0, -1, -2 mirror to 1, 2, 3. With v = 10 20 40 80 160 200 220 230:
    #   out1 = .546875*10 + .3984375*20 + .1015625*40 - .03515625*80 - .01171875*160 = 12.8125 -> 13
    #   out2 (u = 3.5) = -.046875*10 + .11328125*20 + .43359375*(40+80) + .11328125*160
    #                    - .03515625*200 - .01171875*220 = 62.34375 -> 62
    #   out3 (u = 5.5) = -.01171875*20 - .03515625*40 + .11328125*80 + .43359375*(160+200)
    #                    + .11328125*220 - .046875*230 = 177.65625 -> 178
    #   out4 (u = 7.5; 9, 10, 11 mirror to 8, 7, 6) = -.01171875*80 - .03515625*160 + .1015625*200
    #                    + .3984375*220 + .546875*230 = 227.1875 -> 227
    v = np.array([10, 20, 40, 80, 160, 200, 220, 230], np.uint8)
    weights, indices = contributions(8, 4, 0.5)
    np.testing.assert_array_equal(weights[0], [-0.01171875, -0.03515625, 0.11328125, 0.43359375,
                                               0.43359375, 0.11328125, -0.03515625, -0.01171875])
    np.testing.assert_array_equal(indices[0], [2, 1, 0, 0, 1, 2, 3, 4])  # 0-based, mirrored at the left
    expected = [13, 62, 178, 227]
    np.testing.assert_array_equal(imresize_down(np.stack([v, v]), 2), [expected])
    np.testing.assert_array_equal(imresize_down(np.stack([v, v], axis=1), 2), np.array([expected]).T)
    color = np.stack([np.stack([v, v])] * 3, axis=2)
    np.testing.assert_array_equal(imresize_down(color, 2)[0, :, 1], expected)


def test_halves_round_away_from_zero_as_matlab():
    # v = 0 0 7 3 9 0 0 0, output 1 as above: .1015625*7 - .03515625*3 - .01171875*9
    # = (26*7 - 9*3 - 3*9) / 256 = 128 / 256 = 0.5 exactly -> MATLAB's round gives 1 (numpy's, 0)
    v = np.array([0, 0, 7, 3, 9, 0, 0, 0], np.uint8)
    assert imresize_down(np.stack([v, v]), 2)[0, 0] == 1


def test_cli_keeps_names_and_tree(tmp_path):
    hr = tmp_path / "HR"
    (hr / "000").mkdir(parents=True)
    img = np.random.default_rng(0).integers(0, 256, (24, 36, 3), dtype=np.uint8)
    cv2.imwrite(str(hr / "000" / "00000000.png"), img)
    cv2.imwrite(str(hr / "0001.png"), img)
    result = run("make-lr", hr, tmp_path / "LR" / "X4", "--scale", 4, "--suffix", "x4", "-j", 1)
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "LR" / "X4")) == ["000", "0001x4.png"]
    lr = cv2.imread(str(tmp_path / "LR" / "X4" / "000" / "00000000x4.png"))
    np.testing.assert_array_equal(lr, imresize_down(img, 4))
    assert lr.shape == (6, 9, 3)


def test_cli_warns_when_sizes_do_not_divide(tmp_path):
    hr = tmp_path / "HR"
    hr.mkdir()
    cv2.imwrite(str(hr / "a.png"), np.zeros((10, 12), np.uint8))
    result = run("make-lr", hr, tmp_path / "LR", "--scale", 4, "-j", 1)
    assert result.exit_code == 0 and "not a multiple of 4" in result.output
    assert cv2.imread(str(tmp_path / "LR" / "a.png"), cv2.IMREAD_UNCHANGED).shape == (3, 3)
    result = run("make-lr", tmp_path / "nope", tmp_path / "LR2")
    assert result.exit_code == 1 and "HR folder" in result.output
