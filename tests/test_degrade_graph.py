"""Noise statistics and LQ / GT alignment of the in-graph degradation (CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dalisr.degrade import ops
from dalisr.degrade.graph import DegradeInputs, degrade, paired_patches
from dalisr.degrade.options import DegradeOptions
from dalisr.degrade.params import AREA, BICUBIC, draw_sample, noise_fields, trim_kernel, wide_windows

from .degrade_reference import basicsr_module, interpolate, nchw, psnr
from .degrade_support import run_graph


@pytest.fixture(scope="module")
def photo_u8() -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[50:450, 40:440])


def _noise(img, z, gaussian, sigma, scale, gray):
    params = np.array([gaussian, gray], np.int32), np.array([sigma, scale], np.float32)
    return run_graph(lambda x, n, i, f: ops.add_noise(x, i[0] == 1, f[0], f[1], i[1] == 1, z=n),
                     [[img], [z], [params[0]], [params[1]]], ["HWC", "HWC", None, None])[0][0]


@pytest.mark.parametrize("gray", [False, True])
def test_gaussian_noise_std(gray):
    img = np.full((300, 300, 3), 0.5, np.float32)
    z = np.random.default_rng(0).standard_normal((300, 300, 1 if gray else 3), dtype=np.float32)
    z = np.repeat(z, 3, axis=2) if gray else z
    noise = _noise(img, z, 1, 20.0, 0.0, int(gray)) - img
    assert abs(noise.std() / (20 / 255) - 1) < 0.03
    assert (noise[..., 0] == noise[..., 2]).all() == gray


@pytest.mark.parametrize("gray", [False, True])
def test_poisson_noise_std_matches_basicsr(photo_u8, gray):
    """Same per-pixel variance as BasicSR's Poisson noise: the overall std within 3 % of BasicSR's."""
    img = (photo_u8.astype(np.float32) / 255) * 0.6 + 0.2  # no clipping at 0 or 1
    z = np.random.default_rng(1).standard_normal((*img.shape[:2], 1 if gray else 3), dtype=np.float32)
    z = np.repeat(z, 3, axis=2) if gray else z
    ours = _noise(img, z, 0, 0.0, 2.0, int(gray)) - img
    deg = basicsr_module("data.degradations")
    torch.manual_seed(0)
    theirs = deg.generate_poisson_noise_pt(nchw(img), scale=2.0, gray_noise=float(gray))[0].numpy()
    assert abs(ours.std() / theirs.std() - 1) < 0.03
    if gray:  # the same noise on every channel (up to float rounding of (x + n) - x), where nothing clipped
        inside = ((ours + img > 0) & (ours + img < 1)).all(axis=2)
        assert np.abs(ours[..., 0] - ours[..., 1])[inside].max() < 1e-5


def test_poisson_noise_std_matches_its_definition(photo_u8):
    """Without BasicSR: std of Poisson(x * 256) / 256 is sqrt(x / 256), times the scale."""
    img = (photo_u8.astype(np.float32) / 255) * 0.6 + 0.2
    z = np.random.default_rng(1).standard_normal(img.shape, dtype=np.float32)
    ours = _noise(img, z, 0, 0.0, 2.0, 0) - img
    rounded = np.round(img * 255) / 255
    poisson = np.random.default_rng(2).poisson(rounded * 256) / 256 - rounded
    assert abs(ours.std() / (2 * poisson.std()) - 1) < 0.03


def _area_inputs(h_in, h_out):
    return [wide_windows(h_in, h_out).reshape(-1, 1, 1), wide_windows(h_in, h_out).reshape(1, -1, 1)]


@pytest.mark.parametrize("mode", [AREA, BICUBIC])
def test_final_resize_and_crop_stay_aligned(photo_u8, mode):
    """LQ patch = the torch downscale of the GT at the anchor; GT patch = GT at anchor * scale."""
    from dalisr.degrade.resize import interpolate as graph_interpolate

    opts = DegradeOptions.from_options({})
    anchor = np.array([23, 7], np.int32)
    ints = np.array([mode, 400, 400, 100, 100, 4, 4], np.int32)

    def build(x, v, a, mh, mw):
        f = ops.to_float(x)
        small = graph_interpolate(f, v[0], (v[1], v[2]), (v[3], v[4]), (v[5], v[6]), [mh, mw])
        lq, (gt,) = paired_patches(ops.quantize(small), [x], a, opts)
        return lq, gt

    lq, gt = (o[0] for o in run_graph(build, [[photo_u8], [ints], [anchor], *[[m] for m in _area_inputs(400, 100)]],
                                      ["HWC", None, None, None, None]))
    want = interpolate(photo_u8.astype(np.float32) / 255, size=(100, 100), mode=("area", "", "bicubic")[mode])
    want = np.clip(np.round(want * 255), 0, 255)[23:23 + 64, 7:7 + 64]
    assert np.array_equal(gt, photo_u8[92:92 + 256, 28:28 + 256])
    if mode == AREA:
        assert np.abs(lq.astype(int) - want).max() <= 1
    else:
        assert psnr(lq / 255, want / 255) > 40
        # a one-pixel shift would be far worse: alignment, not just similarity
        shifted = np.clip(np.round(interpolate(photo_u8.astype(np.float32) / 255, size=(100, 100),
                                               mode="bicubic") * 255), 0, 255)[24:24 + 64, 7:7 + 64]
        assert psnr(lq / 255, shifted / 255) < psnr(lq / 255, want / 255) - 8


def test_whole_degradation_with_everything_off_is_the_downscale(photo_u8):
    """Identity kernels, keep, zero noise, JPEG 100, no USM: the LQ is the GT resized to 100 (+ JPEG 100).

    With ``keep`` the second resize still goes to ``400 / scale``, with its own mode; the final one is then
    100 -> 100, an identity in every mode.
    """
    block = {"resize_prob": [0, 0, 1], "resize_prob2": [0, 0, 1], "noise_range": [0, 0], "noise_range2": [0, 0],
             "poisson_scale_range": [0, 0], "poisson_scale_range2": [0, 0], "jpeg_range": [100, 100],
             "jpeg_range2": [100, 100], "second_blur_prob": 0, "gt_usm": False}
    opts = DegradeOptions.from_options(block)
    pulse = trim_kernel(np.pad(np.ones((1, 1), np.float32), 10))
    results = []
    for position in range(6):
        d = draw_sample(opts, np.random.default_rng(position))
        ints, floats = d.vectors()
        arrays = [photo_u8, pulse, pulse, pulse, ints, floats, *noise_fields(d, np.random.default_rng(0)),
                  *d.area_masks()]

        def build(gt, k1, k2, s, i, f, n1, n2, *masks):
            lq, _ = degrade(gt, DegradeInputs(k1, k2, s, i, f, n1, n2, list(masks), opts))
            return lq

        lq = run_graph(build, [[a] for a in arrays], ["HWC", None, None, None, None, None, "HWC", "HWC"] + [None] * 6)
        want = interpolate(photo_u8.astype(np.float32) / 255, size=(100, 100),
                           mode=("area", "bilinear", "bicubic")[d.second.mode])
        luma = np.array([0.299, 0.587, 0.114], np.float32)  # JPEG's 4:2:0 chroma blurs colour; luma is kept
        got_y, want_y = (lq[0][0] / 255) @ luma, want @ luma
        results.append(psnr(got_y, want_y))
        assert psnr(got_y[1:], want_y[:-1]) < results[-1] - 5  # one row off is far worse: aligned
    assert min(results) > 40, results  # measured 45-53 dB
