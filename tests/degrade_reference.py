"""Real-ESRGAN's own torch steps as references: BasicSR's code where it can be imported, else skip.

``basicsr_module(name)`` imports ``basicsr.<name>`` when basicsr is
installed; without it (CI before the extra is installed), a checkout of
BasicSR named by ``DALISR_BASICSR_SRC`` (or /work/ref/BasicSR) is loaded by
path. ``degradations.py`` imports torchvision's ``rgb_to_grayscale`` only:
where torchvision is missing, a stand-in with torchvision's weights is put
in ``sys.modules`` for that one import.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

SRC = os.environ.get("DALISR_BASICSR_SRC", "/work/ref/BasicSR")


def _gray_standin() -> None:
    if "torchvision.transforms.functional" in sys.modules:
        return
    try:
        import torchvision.transforms.functional  # noqa: F401
        return
    except ImportError:
        pass

    def rgb_to_grayscale(img, num_output_channels=1):
        r, g, b = img.unbind(dim=-3)
        gray = (0.2989 * r + 0.587 * g + 0.114 * b).unsqueeze(dim=-3)
        return gray.expand(img.shape) if num_output_channels == 3 else gray

    tv = sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
    tr = sys.modules.setdefault("torchvision.transforms", types.ModuleType("torchvision.transforms"))
    fun = types.ModuleType("torchvision.transforms.functional")
    fun.rgb_to_grayscale = rgb_to_grayscale
    tv.transforms, tr.functional = tr, fun
    sys.modules["torchvision.transforms.functional"] = fun
    sys.modules["torchvision.transforms.functional_tensor"] = fun


def basicsr_module(name: str):
    """``basicsr.<name>`` (e.g. ``utils.img_process_util``), or skip the test."""
    _gray_standin()
    try:
        return importlib.import_module(f"basicsr.{name}")
    except ImportError:
        pass
    path = os.path.join(SRC, "basicsr", *name.split(".")) + ".py"
    if not os.path.exists(path):
        pytest.skip(f"basicsr is not installed and {path} is absent")
    key = f"_basicsr_ref_{name.replace('.', '_')}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules[key] = mod
    return sys.modules[key]


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
