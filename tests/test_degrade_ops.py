"""Each deterministic step of the in-graph degradation against Real-ESRGAN's torch implementation (CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dalisr.degrade import ops
from dalisr.degrade.params import AREA, BICUBIC, BILINEAR, box_width, wide_windows
from dalisr.degrade.resize import interpolate

from .degrade_reference import basicsr_module, conv_reflect, hwc, nchw, psnr
from .degrade_reference import interpolate as torch_interpolate
from .degrade_support import run_graph


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 400 x 400 RGB float32 photo in [0, 1] (Real-ESRGAN degrades 400 px GT patches)."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[50:450, 40:440]).astype(np.float32) / 255.0


def _run1(build, *arrays, layouts=None):
    """One sample through ``build``; returns its first output."""
    return run_graph(build, [[a] for a in arrays], layouts)[0][0]


def test_filter2d_matches_reflect_padded_correlation(photo):
    rng = np.random.default_rng(0)
    for size in (21, 7):
        kernel = rng.random((size, size), dtype=np.float32)  # asymmetric: catches convolution vs correlation
        kernel /= kernel.sum()
        got = _run1(ops.filter2d, photo, kernel, layouts=["HWC", None])
        want = conv_reflect(photo, kernel)
        assert np.abs(got - want).max() < 1e-5
        # BasicSR's own filter2D, where it can be loaded
    ipu = basicsr_module("utils.img_process_util")
    want = hwc(ipu.filter2D(nchw(photo), torch.from_numpy(kernel)[None]))
    assert np.abs(got - want).max() < 1e-5


def test_usm_sharp_matches_basicsr(photo):
    got = _run1(ops.usm_sharp, photo, layouts=["HWC"])
    ipu = basicsr_module("utils.img_process_util")
    want = hwc(ipu.USMSharp()(nchw(photo)))
    assert np.abs(got - want).max() < 1e-5  # separable vs 2-D: float rounding only


def test_usm_sharp_matches_its_definition(photo):
    """Without BasicSR: OpenCV's 51 px Gaussian (sigma 8), reflect padding, threshold 10, weight 0.5, soft mask."""
    import cv2

    k = cv2.getGaussianKernel(51, 0)
    kernel = (k @ k.T).astype(np.float32)
    blur = conv_reflect(photo, kernel)
    residual = photo - blur
    soft = conv_reflect((np.abs(residual) * 255 > 10).astype(np.float32), kernel)
    want = soft * np.clip(photo + 0.5 * residual, 0, 1) + (1 - soft) * photo
    got = _run1(ops.usm_sharp, photo, layouts=["HWC"])
    assert np.abs(got - want).max() < 1e-5
    assert np.abs(got - photo).max() > 0.05  # it does sharpen


def _resize_graph(img, mode, out_hw, roi_end=None):
    h, w = img.shape[:2]
    ints = np.array([mode, h, w, *out_hw, box_width(h, out_hw[0]), box_width(w, out_hw[1])], np.int32)
    masks = [wide_windows(h, out_hw[0]).reshape(-1, 1, 1), wide_windows(w, out_hw[1]).reshape(1, -1, 1)]
    roi = np.asarray(roi_end if roi_end is not None else (h, w), np.float32)

    def build(x, v, mh, mw, r):
        roi_arg = (r[0], r[1]) if roi_end is not None else None
        return interpolate(x, v[0], (v[1], v[2]), (v[3], v[4]), (v[5], v[6]), [mh, mw], roi_end=roi_arg)

    return _run1(build, img, ints, *masks, roi, layouts=["HWC", None, None, None, None])


@pytest.mark.parametrize("out_hw", [(100, 100), (113, 87), (283, 400), (517, 600), (57, 431)])
def test_area_resize_is_torchs_adaptive_pooling(photo, out_hw):
    got = _resize_graph(photo, AREA, out_hw)
    want = torch_interpolate(photo, size=out_hw, mode="area")
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-5


@pytest.mark.parametrize("out_hw", [(100, 100), (113, 87), (517, 600)])
def test_bilinear_resize_matches_torch(photo, out_hw):
    """Equal to float rounding of the source coordinates (<= 1e-4, far below one 8-bit level, 3.9e-3)."""
    got = _resize_graph(photo, BILINEAR, out_hw)
    assert np.abs(got - torch_interpolate(photo, size=out_hw, mode="bilinear")).max() < 1e-4


@pytest.mark.parametrize("out_hw", [(100, 100), (113, 87), (517, 600)])
def test_bicubic_resize_is_close_to_torch(photo, out_hw):
    """DALI's cubic is not torch's (a = -0.75): 47-49 dB measured on this photo; bound 45 dB."""
    got = _resize_graph(photo, BICUBIC, out_hw)
    assert psnr(got, torch_interpolate(photo, size=out_hw, mode="bicubic")) >= 45


@pytest.mark.parametrize("mode", [AREA, BILINEAR])
@pytest.mark.parametrize("scale", [0.377, 1.219])
def test_scale_factor_semantics(photo, mode, scale):
    """Real-ESRGAN's first resize passes ``scale_factor``: size floor(400 s), coordinates mapped with s itself."""
    n = int(np.floor(400 * scale))
    got = _resize_graph(photo, mode, (n, n), roi_end=(n / scale, n / scale))
    want = torch_interpolate(photo, mode=("area", "bilinear")[mode], scale=scale)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-4


def test_quantize_is_clamp_round(photo):
    rng = np.random.default_rng(1)
    x = (photo + rng.normal(0, 0.2, photo.shape)).astype(np.float32)  # values outside [0, 1] too
    got = _run1(ops.quantize, x, layouts=["HWC"])
    want = torch.clamp((torch.from_numpy(x) * 255.0).round(), 0, 255).numpy()
    assert got.dtype == np.uint8
    assert np.mean(got != want) < 1e-4  # exact halves may round the other way
    assert np.abs(got.astype(np.float32) - want).max() <= 1


def test_jpeg_is_close_to_diffjpeg(photo):
    """DALI's JPEG (libjpeg, integer input) vs BasicSR's DiffJPEG (float input) at the same quality."""
    dj = basicsr_module("utils.diffjpeg")
    jpeger = dj.DiffJPEG(differentiable=False)
    for quality in (30, 60, 95):
        got = _run1(lambda x, q: ops.jpeg(x, q[0]), photo, np.array(quality, np.int32), layouts=["HWC", None])
        want = hwc(jpeger(nchw(photo), quality=torch.tensor([float(quality)])))
        # measured 34.1 / 35.7 / 39.8 dB at quality 30 / 60 / 95
        assert psnr(got, want) >= 32, quality
        # the same strength: PSNR to the input within 1.5 dB of DiffJPEG's (29.8 vs 29.6 dB at quality 30)
        assert abs(psnr(got, photo) - psnr(want, photo)) < 1.5, quality
