"""The in-graph degradation on a GPU: the same draws as on the CPU, pairs close to the CPU's; the noise fields
drawn on the GPU (its default, ``noise: graph``) with Real-ESRGAN's statistics, reproducible and resumable.

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
    """The source's noise fields on both devices: the same inputs, so LQs close to each other."""
    opt = options(sample_set, workers=2, block={"noise": "source"})
    cpu, gpu = _first(opt, "cpu"), _first(opt, "gpu")
    assert gpu["lq"].shape == cpu["lq"].shape == (4, 3, 64, 64)
    assert torch.allclose(gpu["gt"].cpu(), cpu["gt"], atol=1e-4)
    mse = float(((gpu["lq"].cpu() - cpu["lq"]) ** 2).mean())
    assert 10 * np.log10(1 / max(mse, 1e-12)) > 25


def _strength(opt, device) -> tuple[list, list[float]]:
    """Every batch's GT of two epochs, and per sample the PSNR of the LQ against its downscaled GT."""
    opt["datasets"]["train"]["dataset_enlarge_ratio"] = 4
    gts, psnrs = [], []
    with build_dataloader(opt, device=device, seed=0) as loader:
        for b in loader:
            lq, gt = b["lq"].cpu(), b["gt"].cpu()
            down = torch.nn.functional.interpolate(gt, size=lq.shape[-2:], mode="area")
            psnrs += (-10 * torch.log10(((lq - down) ** 2).flatten(1).mean(1))).tolist()
            gts.append(gt)
    return gts, psnrs


def test_gpu_drawn_noise_is_as_strong_as_the_cpus(sample_set):
    """The GPU's default (noise drawn there) against the CPU's (the source's fields): the same GT squares, and a
    degradation of the same strength (PSNR of LQ against the downscaled GT, per sample and on average)."""
    gpu_gts, gpu = _strength(options(sample_set, workers=2), "gpu")
    cpu_gts, cpu = _strength(options(sample_set, workers=2), "cpu")
    assert len(gpu) == len(cpu) == 32
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(gpu_gts, cpu_gts))
    assert abs(np.mean(gpu) - np.mean(cpu)) < 0.5 and np.max(np.abs(np.subtract(gpu, cpu))) < 1.5


def _lqs(opt, count: int, state: dict | None = None, keep_state_at: int | None = None) -> tuple[list, dict | None]:
    """``count`` LQ batches of a GPU loader (resumed from ``state``), and its state after ``keep_state_at``."""
    out, kept = [], None
    with build_dataloader(opt, device="gpu", seed=0) as loader:
        if state is not None:
            loader.load_state_dict(state)
        while len(out) < count:
            for b in loader:
                out.append(b["lq"].cpu())
                if len(out) == keep_state_at:
                    kept = loader.state_dict()
    return out, kept


def test_gpu_drawn_noise_same_seed_same_run_and_resume(sample_set):
    opt = options(sample_set, workers=2)
    opt["datasets"]["train"]["dataset_enlarge_ratio"] = 2  # 4 batches an epoch
    first, state = _lqs(opt, 8, keep_state_at=2)
    again, _ = _lqs(opt, 8)
    resumed, _ = _lqs(opt, 6, state=state)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert len(resumed) == 6 and all(torch.equal(a, b) for a, b in zip(resumed, first[2:]))
    assert not torch.equal(first[0], first[4])


def _gpu_noise(img: np.ndarray, gaussian: int, gray: int) -> np.ndarray:
    from dalisr.degrade import ops

    from ..degrade_support import run_graph

    ints = np.array([gaussian, gray, *img.shape[:2]], np.int32)
    floats = np.array([20.0, 1.0], np.float32)

    def build(x, i, f):
        return ops.add_noise(x, i[0] == 1, f[0], f[1], i[1] == 1, shape=(i[2], i[3], i[1]))

    return run_graph(build, [[img], [ints], [floats]], ["HWC", None, None], gpu=(0,))[0][0] - img


@pytest.mark.parametrize("gray", [0, 1])
def test_gpu_gaussian_noise(gray):
    """DALI's GPU normal generator: std sigma / 255; gray noise one field for R, G and B."""
    noise = _gpu_noise(np.full((256, 256, 3), 0.5, np.float32), 1, gray)
    assert abs(noise.std() / (20 / 255) - 1) < 0.03 and abs(noise.mean()) < 0.002
    assert np.array_equal(noise[..., 0], noise[..., 2]) == bool(gray)


def test_gpu_poisson_noise():
    """DALI's GPU shot noise: Poisson counts on the 1/256 grid, mean and variance x * 256 (x = 5 / 255)."""
    noise = _gpu_noise(np.full((256, 256, 3), 5 / 255, np.float32), 0, 0)
    k = (noise + np.float32(5 / 255)) * 256
    assert np.abs(k - np.round(k)).max() < 2e-3
    lam = 5 / 255 * 256
    assert abs(k.mean() / lam - 1) < 0.02 and abs(k.var() / lam - 1) < 0.05
