"""Real-ESRGAN's blur and sinc kernels, drawn per sample from a numpy Generator.

The same distributions as BasicSR's ``RealESRGANDataset`` (its
``random_mixed_kernels`` and ``circular_lowpass_kernel``), written anew:

* a kernel size uniform over 7, 9, ..., 21 (traiNNer-redux: over its ``kernel_range``);
* with probability ``sinc_prob`` a circular low-pass (sinc) kernel, cutoff
  ``omega_c`` uniform in [pi/3, pi) for sizes below 13, else [pi/5, pi);
* otherwise one of ``kernel_list`` chosen with weights ``kernel_prob``:
  Gaussian (``iso`` / ``aniso``), generalized Gaussian ``exp(-q**beta / 2)``
  and plateau ``1 / (1 + q**beta)`` (``q`` the Mahalanobis form), sigma
  uniform in ``blur_sigma`` (both axes for anisotropic kernels), rotation
  uniform in [-pi, pi), beta uniform below or above 1 with equal chance;
* every kernel normalised to sum 1 and zero-padded to 21 x 21;
* a final sinc kernel with probability ``final_sinc_prob`` (cutoff in
  [pi/3, pi)), else the pulse (identity) kernel.

Every draw comes from the Generator passed in, so dalisr makes them from
(seed, epoch, position) like its other draws. BasicSR reads but ignores
``blur_kernel_size``; so does this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from ..errors import DalisrError

KERNEL_SIZES = tuple(range(7, 22, 2))  # BasicSR's hard-coded kernel_range
PAD_TO = 21
KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
SINC = "sinc"
_BESSEL_POINTS = 128  # trapezoid nodes for J1: exact to ~1e-15 for arguments up to 45 (pi * 10 * sqrt 2 is 44.4)


@dataclass(frozen=True)
class BlurOptions:
    """One degradation's blur options (the first, or the ``*2`` second)."""

    kernel_list: tuple[str, ...]
    kernel_prob: tuple[float, ...]
    blur_sigma: tuple[float, float]
    betag_range: tuple[float, float]
    betap_range: tuple[float, float]
    sinc_prob: float
    sizes: tuple[int, ...] = KERNEL_SIZES  # the kernel sizes drawn from (traiNNer-redux: its kernel_range)


@dataclass(frozen=True)
class KernelOptions:
    """The kernel options of a Real-ESRGAN dataset section."""

    first: BlurOptions
    second: BlurOptions
    final_sinc_prob: float
    final_sizes: tuple[int, ...] = KERNEL_SIZES

    #: the option keys read, per degradation (suffix ``2`` for the second)
    BLUR_KEYS = ("kernel_list", "kernel_prob", "blur_sigma", "betag_range", "betap_range", "sinc_prob")

    @classmethod
    def from_options(cls, opt: Mapping, origin: str = "option dict") -> KernelOptions:
        """Read and check the kernel keys of a dataset section; DalisrError names a missing or bad key."""
        return cls(first=_blur_options(opt, "", origin), second=_blur_options(opt, "2", origin),
                   final_sinc_prob=_probability(opt, "final_sinc_prob", origin))

    def with_sizes(self, first: tuple[int, ...], second: tuple[int, ...], final: tuple[int, ...]) -> KernelOptions:
        """The same options drawing kernel sizes from these (odd, at most 21) instead of BasicSR's 7..21."""
        return replace(self, first=replace(self.first, sizes=first), second=replace(self.second, sizes=second),
                       final_sizes=final)


@dataclass(frozen=True)
class KernelDraw:
    """The parameters of one drawn kernel (what BasicSR draws before building it)."""

    kind: str  # one of KERNEL_TYPES, or "sinc"
    size: int
    sigma_x: float = 0.0
    sigma_y: float = 0.0
    theta: float = 0.0
    beta: float = 1.0
    omega_c: float = 0.0


# -- options ------------------------------------------------------------
def _need(opt: Mapping, key: str, origin: str):
    if opt.get(key) is None:
        raise DalisrError(f"missing key '{key}' in {origin} (needed by RealESRGANDataset). Fix: set it as in "
                          "Real-ESRGAN's options/train_realesrnet_x4plus.yml")
    return opt[key]


def _probability(opt: Mapping, key: str, origin: str) -> float:
    value = _need(opt, key, origin)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise DalisrError(f"'{key}' in {origin} must be a probability in [0, 1], got {value!r}")
    return float(value)


def _range(opt: Mapping, key: str, origin: str, positive: bool = False) -> tuple[float, float]:
    value = _need(opt, key, origin)
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    if not ok or value[0] > value[1] or (positive and value[0] <= 0):
        need = "positive " if positive else ""
        raise DalisrError(f"'{key}' in {origin} must be a range [low, high] of {need}numbers, low <= high; "
                          f"got {value!r}")
    return float(value[0]), float(value[1])


def _blur_options(opt: Mapping, suffix: str, origin: str) -> BlurOptions:
    names, probs = (_need(opt, k + suffix, origin) for k in ("kernel_list", "kernel_prob"))
    if not isinstance(names, (list, tuple)) or not names or any(n not in KERNEL_TYPES for n in names):
        raise DalisrError(f"'kernel_list{suffix}' in {origin} must list kernel types among "
                          f"{', '.join(KERNEL_TYPES)}; got {names!r}")
    ok = isinstance(probs, (list, tuple)) and len(probs) == len(names) and all(
        isinstance(p, (int, float)) and not isinstance(p, bool) and p >= 0 for p in probs)
    if not ok or sum(probs) <= 0:
        raise DalisrError(f"'kernel_prob{suffix}' in {origin} must be {len(names)} non-negative weights, one per "
                          f"kernel_list{suffix} entry, not all zero; got {probs!r}")
    return BlurOptions(kernel_list=tuple(names), kernel_prob=tuple(float(p) for p in probs),
                       blur_sigma=_range(opt, "blur_sigma" + suffix, origin, positive=True),
                       betag_range=_range(opt, "betag_range" + suffix, origin, positive=True),
                       betap_range=_range(opt, "betap_range" + suffix, origin, positive=True),
                       sinc_prob=_probability(opt, "sinc_prob" + suffix, origin))


# -- draws ------------------------------------------------------------
def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(low + (high - low) * rng.random())


def draw_blur(opts: BlurOptions, rng: np.random.Generator) -> KernelDraw:
    """The parameters of a first- or second-degradation kernel."""
    size = opts.sizes[int(rng.integers(len(opts.sizes)))]
    if rng.random() < opts.sinc_prob:
        low = math.pi / 3 if size < 13 else math.pi / 5
        return KernelDraw(SINC, size, omega_c=_uniform(rng, low, math.pi))
    weights = np.asarray(opts.kernel_prob, np.float64)
    kind = opts.kernel_list[int(rng.choice(len(weights), p=weights / weights.sum()))]
    sigma_x = _uniform(rng, *opts.blur_sigma)
    sigma_y, theta = sigma_x, 0.0
    if kind.endswith("aniso"):
        sigma_y = _uniform(rng, *opts.blur_sigma)
        theta = _uniform(rng, -math.pi, math.pi)
    beta = 1.0
    if kind.startswith(("generalized", "plateau")):
        low, high = opts.betag_range if kind.startswith("generalized") else opts.betap_range
        beta = _uniform(rng, low, 1.0) if rng.random() < 0.5 else _uniform(rng, 1.0, high)
    return KernelDraw(kind, size, sigma_x, sigma_y, theta, beta)


def draw_final_sinc(final_sinc_prob: float, rng: np.random.Generator,
                    sizes: tuple[int, ...] = KERNEL_SIZES) -> KernelDraw | None:
    """The final sinc kernel's parameters, or None for the pulse."""
    if rng.random() >= final_sinc_prob:
        return None
    size = sizes[int(rng.integers(len(sizes)))]
    return KernelDraw(SINC, size, omega_c=_uniform(rng, math.pi / 3, math.pi))


# -- kernels ------------------------------------------------------------
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """x (column) and y (row) offsets from the centre, each size x size."""
    ax = np.arange(size, dtype=np.float64) - (size - 1) / 2
    return np.meshgrid(ax, ax)


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """Bessel J1 by its integral ``(1 / 2pi) * int cos(t - x sin t) dt`` over a period (trapezoid rule).

    The integrand is periodic and smooth, so the rule converges geometrically:
    for the arguments kernels need (<= 45) it agrees with scipy.special.j1 to ~1e-15.
    """
    t = np.arange(_BESSEL_POINTS) * (2 * np.pi / _BESSEL_POINTS)
    return np.cos(t - np.asarray(x, np.float64)[..., None] * np.sin(t)).mean(axis=-1)


def circular_lowpass(omega_c: float, size: int) -> np.ndarray:
    """The sinc kernel ``omega_c * J1(omega_c r) / (2 pi r)``, ``omega_c**2 / (4 pi)`` at the centre, sum 1."""
    xx, yy = _grid(size)
    r = np.hypot(xx, yy)
    centre = (size - 1) // 2
    r[centre, centre] = 1.0  # any non-zero: the centre is set below
    kernel = omega_c * bessel_j1(omega_c * r) / (2 * np.pi * r)
    kernel[centre, centre] = omega_c ** 2 / (4 * np.pi)
    return kernel / kernel.sum()


def render(draw: KernelDraw) -> np.ndarray:
    """The kernel of ``draw`` at its own size (float64, sum 1)."""
    if draw.kind == SINC:
        return circular_lowpass(draw.omega_c, draw.size)
    xx, yy = _grid(draw.size)
    c, s = math.cos(draw.theta), math.sin(draw.theta)
    # inverse of U diag(sx^2, sy^2) U^T is U diag(1/sx^2, 1/sy^2) U^T, U the rotation by theta
    u = c * xx + s * yy
    v = -s * xx + c * yy
    q = (u / draw.sigma_x) ** 2 + (v / draw.sigma_y) ** 2
    if draw.kind.startswith("generalized"):
        kernel = np.exp(-0.5 * q ** draw.beta)
    elif draw.kind.startswith("plateau"):
        kernel = 1.0 / (q ** draw.beta + 1.0)
    else:
        kernel = np.exp(-0.5 * q)
    return kernel / kernel.sum()


def pad_kernel(kernel: np.ndarray, size: int = PAD_TO) -> np.ndarray:
    """Zero-pad a centred odd kernel to ``size`` x ``size`` (float32)."""
    p = (size - kernel.shape[0]) // 2
    return np.pad(kernel, p).astype(np.float32)


def pulse() -> np.ndarray:
    """The identity kernel: convolving with it changes nothing."""
    k = np.zeros((PAD_TO, PAD_TO), np.float32)
    k[PAD_TO // 2, PAD_TO // 2] = 1.0
    return k


def draw_kernels(opts: KernelOptions, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``kernel1``, ``kernel2`` and ``sinc_kernel`` for one sample: float32, 21 x 21 each."""
    kernel1 = pad_kernel(render(draw_blur(opts.first, rng)))
    kernel2 = pad_kernel(render(draw_blur(opts.second, rng)))
    final = draw_final_sinc(opts.final_sinc_prob, rng, opts.final_sizes)
    sinc = pulse() if final is None else pad_kernel(render(final))
    return kernel1, kernel2, sinc
