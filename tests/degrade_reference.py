"""Real-ESRGAN's own torch steps as references: BasicSR's code (the ``basicsr`` extra), else skip.

basicsr is imported through dalisr's compatibility step (torchvision's
``functional_tensor`` alias), with tests/conftest.py's torchvision stand-in
where torchvision does not import; the torch-only statements below let the
same checks run without BasicSR.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F


def basicsr_module(name: str):
    """``basicsr.<name>`` (e.g. ``utils.img_process_util``), or skip the test where basicsr is not installed."""
    from dalisr.integrations.basicsr.importing import register_functional_tensor_alias

    register_functional_tensor_alias()
    pytest.importorskip("basicsr")
    return importlib.import_module(f"basicsr.{name}")


# -- independent statements of the same operations (torch only), for machines without BasicSR --------------------
def conv_reflect(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """HWC float image correlated with a k x k kernel after reflect padding (what filter2D does)."""
    t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[:, None]
    k = kernel.shape[0] // 2
    t = F.pad(t, (k, k, k, k), mode="reflect")
    out = F.conv2d(t, torch.from_numpy(kernel)[None, None].float())
    return out[:, 0].numpy().transpose(1, 2, 0)


def interpolate(img: np.ndarray, size=None, mode="bilinear", scale=None) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
    out = F.interpolate(t, size=size, mode=mode) if scale is None else F.interpolate(t, scale_factor=scale, mode=mode)
    return out[0].numpy().transpose(1, 2, 0)


def nchw(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].float()


def hwc(t: torch.Tensor) -> np.ndarray:
    return t[0].detach().numpy().transpose(1, 2, 0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)
