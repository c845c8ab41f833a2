"""The in-graph degradation on a GPU: the same draws as on the CPU, pairs close to the CPU's.

GPU and CPU run different JPEG codecs (nvJPEG vs libjpeg) and resampling
kernels, so LQ patches are compared by PSNR; the GT (USM) and the draws
(shapes, crop) must agree. Not run on this project's CPU machines.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dalisr import build_dataloader

from ..test_degrade_loader import options

pytestmark = pytest.mark.gpu


def _first(opt, device):
    with build_dataloader(opt, device=device, seed=0) as loader:
        return next(iter(loader))


def test_gpu_degradation_matches_cpu(sample_set):
    opt = options(sample_set, workers=2)
    cpu, gpu = _first(opt, "cpu"), _first(opt, "gpu")
    assert gpu["lq"].shape == cpu["lq"].shape == (4, 3, 64, 64)
    assert torch.allclose(gpu["gt"].cpu(), cpu["gt"], atol=1e-4)
    mse = float(((gpu["lq"].cpu() - cpu["lq"]) ** 2).mean())
    assert 10 * np.log10(1 / max(mse, 1e-12)) > 25


def test_gpu_graph_steps_match_cpu():
    """filter2D, USM and the exact area resize on the GPU: the CPU's results to float rounding."""
    import skimage.data

    from dalisr.degrade import ops
    from dalisr.degrade.params import AREA, box_width, wide_windows
    from dalisr.degrade.resize import interpolate

    from ..degrade_support import run_graph

    img = np.ascontiguousarray(skimage.data.astronaut()[:400, :400]).astype(np.float32) / 255
    kernel = np.random.default_rng(0).random((21, 21), dtype=np.float32)
    kernel /= kernel.sum()
    ints = np.array([AREA, 400, 400, 113, 87, box_width(400, 113), box_width(400, 87)], np.int32)
    masks = [wide_windows(400, 113).reshape(-1, 1, 1), wide_windows(400, 87).reshape(1, -1, 1)]

    def build(x, k, v, mh, mw):
        small = interpolate(x, v[0], (v[1], v[2]), (v[3], v[4]), (v[5], v[6]), [mh, mw])
        return ops.filter2d(x, k), ops.usm_sharp(x), small

    inputs = [[img], [kernel], [ints], [masks[0]], [masks[1]]]
    layouts = ["HWC", None, None, None, None]
    cpu = run_graph(build, inputs, layouts)
    gpu = run_graph(build, inputs, layouts, gpu=(0, 1, 3, 4))
    for c, g in zip(cpu, gpu):
        assert np.abs(c[0] - g[0]).max() < 1e-4
