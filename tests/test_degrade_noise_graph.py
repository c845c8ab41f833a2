"""The noise fields drawn in the DALI graph (``noise: graph``, the GPU's default): Real-ESRGAN's distributions.

Gaussian noise comes from DALI's normal generator (one channel for gray noise,
added to R, G and B alike); Poisson noise from DALI's shot noise, which is
BasicSR's ``poisson(x * vals) / vals - x`` itself (not the normal approximation
the source's fields use): checked against BasicSR's own functions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dalisr.degrade import ops

from .degrade_reference import basicsr_module, nchw
from .degrade_support import run_graph


def _graph_noise(img: np.ndarray, gaussian: bool, sigma: float, scale: float, gray: bool) -> np.ndarray:
    """The noise ``add_noise`` adds to ``img`` with the graph drawing it (one sample)."""
    h, w = img.shape[:2]
    ints = np.array([gaussian, gray, h, w], np.int32)
    floats = np.array([sigma, scale], np.float32)

    def build(x, i, f):
        return ops.add_noise(x, i[0] == 1, f[0], f[1], i[1] == 1, shape=(i[2], i[3], i[1]))

    return run_graph(build, [[img], [ints], [floats]], ["HWC", None, None])[0][0] - img


@pytest.mark.parametrize("gray", [False, True])
def test_graph_gaussian_noise(gray):
    img = np.full((300, 300, 3), 0.5, np.float32)
    noise = _graph_noise(img, True, 20.0, 0.0, gray)
    assert abs(noise.std() / (20 / 255) - 1) < 0.03 and abs(noise.mean()) < 0.002
    assert np.array_equal(noise[..., 0], noise[..., 2]) == gray  # gray noise: the same on every channel
    assert abs(np.corrcoef(noise[1:, :, 0].ravel(), noise[:-1, :, 0].ravel())[0, 1]) < 0.02  # white: no structure


def _ramp_with_dark_patch(dark_level: int) -> np.ndarray:
    """A 256 x 320 image: every level 0..255 on the left (so BasicSR counts > 128 levels: vals = 256), a
    constant dark square on the right where Poisson noise is far from normal."""
    img = np.zeros((256, 320, 3), np.float32)
    img[:, :64] = (np.arange(256, dtype=np.float32) / 255)[:, None, None]
    img[:, 64:] = dark_level / 255
    return img


@pytest.mark.parametrize("gray", [False, True])
def test_graph_poisson_noise_is_basicsrs(gray):
    """Shot noise gives BasicSR's Poisson noise exactly: integer counts on the 1/256 grid, the same histogram
    of counts in a dark patch (lambda = 5: skewed, discrete), and the same std over a photo."""
    dark = _ramp_with_dark_patch(5)
    scale = 2.0
    ours = _graph_noise(dark, False, 0.0, scale, gray)[:, 64:]  # where nothing clips at 1 (0 may clip)
    deg = basicsr_module("data.degradations")
    torch.manual_seed(0)
    theirs = deg.generate_poisson_noise_pt(nchw(dark), scale=scale, gray_noise=float(gray))[0].numpy()
    theirs = theirs.transpose(1, 2, 0)[:, 64:]
    base = np.float32(5 / 255)  # the gray of an equal-channel pixel is itself
    counts = {}
    for name, noise in (("ours", ours), ("theirs", theirs)):
        kept = noise[..., 0][noise[..., 0] + base > 0]  # where the clamp at 0 left the noise as drawn
        k = (kept / scale + base) * 256
        assert np.abs(k - np.round(k)).max() < 2e-3, name  # Poisson counts, not a normal approximation
        counts[name] = np.bincount(np.round(k).astype(int), minlength=20)[:20] / kept.size
        if gray:
            assert np.array_equal(noise[..., 0], noise[..., 1]), name
    # ~65000 pixels per histogram: each frequency within 0.01 of BasicSR's (its standard error is ~0.0015)
    assert np.abs(counts["ours"] - counts["theirs"]).max() < 0.01, (counts["ours"], counts["theirs"])

    import skimage.data

    photo = np.ascontiguousarray(skimage.data.astronaut()[50:450, 40:440]).astype(np.float32) / 255 * 0.6 + 0.2
    ours = _graph_noise(photo, False, 0.0, scale, gray)
    torch.manual_seed(1)
    theirs = deg.generate_poisson_noise_pt(nchw(photo), scale=scale, gray_noise=float(gray))[0].numpy()
    assert abs(ours.std() / theirs.std() - 1) < 0.02


def _psnr_to_downscale(block: dict, sample_set) -> np.ndarray:
    """Per sample: PSNR of the LQ against the area downscale of its GT patch (how strong the degradation is)."""
    from dalisr import build_dataloader

    from .test_degrade_loader import options

    opt = options(sample_set, workers=2, block=block)
    opt["datasets"]["train"]["dataset_enlarge_ratio"] = 4
    out = []
    with build_dataloader(opt, device="cpu", seed=0) as loader:
        for b in loader:
            down = torch.nn.functional.interpolate(b["gt"], size=b["lq"].shape[-2:], mode="area")
            out += (-10 * torch.log10(((b["lq"] - down) ** 2).flatten(1).mean(1))).tolist()
    return np.array(out)


def test_whole_degradation_as_strong_with_the_graphs_fields(sample_set):
    """The same samples (same draws: kernels, resizes, sigma, scale, JPEG) degraded with the graph's noise fields
    and with the source's (whose strength matches Real-ESRGAN's feed_data: BENCHMARKS.md): per sample the PSNR of
    LQ against the downscaled GT agrees within 0.5 dB (measured <= 0.2), on average within 0.1 dB (0.004)."""
    graph = _psnr_to_downscale({"noise": "graph"}, sample_set)
    source = _psnr_to_downscale({"noise": "source"}, sample_set)
    assert len(graph) == len(source) == 32
    assert 15 < graph.mean() < 30  # degraded, not plain downscales (those give > 40 dB)
    assert abs(graph.mean() - source.mean()) < 0.1 and np.abs(graph - source).max() < 0.5
