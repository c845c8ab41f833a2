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
