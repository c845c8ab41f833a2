"""Real-ESRGAN kernels: exact shapes against BasicSR's functions, and draws distributed as BasicSR draws them.

The reference is BasicSR's real ``basicsr.data.degradations`` (the ``basicsr`` extra, imported as
tests/degrade_reference.py imports BasicSR). The property tests need no BasicSR.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from dalisr.degrade.kernels import (
    KERNEL_SIZES,
    KERNEL_TYPES,
    SINC,
    KernelDraw,
    KernelOptions,
    bessel_j1,
    circular_lowpass,
    draw_blur,
    draw_final_sinc,
    draw_kernels,
    render,
)
from dalisr.errors import DalisrError

from .degrade_reference import basicsr_module

# Real-ESRGAN's options/train_realesrnet_x4plus.yml
OPTIONS = {
    "kernel_list": list(KERNEL_TYPES), "kernel_prob": [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
    "sinc_prob": 0.1, "blur_sigma": [0.2, 3], "betag_range": [0.5, 4], "betap_range": [1, 2],
    "kernel_list2": list(KERNEL_TYPES), "kernel_prob2": [0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
    "sinc_prob2": 0.1, "blur_sigma2": [0.2, 1.5], "betag_range2": [0.5, 4], "betap_range2": [1, 2],
    "final_sinc_prob": 0.8,
}
N = 3000  # draws per side for the distribution tests


def spread(k: np.ndarray) -> float:
    """Variance of the kernel's mass about its centre (sum of k * r^2)."""
    size = k.shape[0]
    ax = np.arange(size) - (size - 1) / 2
    xx, yy = np.meshgrid(ax, ax)
    return float((k * (xx ** 2 + yy ** 2)).sum())


def peak(k: np.ndarray) -> float:
    """The centre value: grows as the kernel narrows (for sinc kernels: with the cutoff)."""
    c = k.shape[0] // 2
    return float(k[c, c])


def axis_moments(k: np.ndarray) -> tuple[float, float]:
    size = k.shape[0]
    ax = np.arange(size) - (size - 1) / 2
    xx, yy = np.meshgrid(ax, ax)
    return float((k * xx ** 2).sum()), float((k * yy ** 2).sum())


# -- the kernels themselves ------------------------------------------------------------
def test_draw_kernels_shapes_sums_and_pulse():
    opts = KernelOptions.from_options(OPTIONS)
    rng = np.random.default_rng(1)
    pulses = 0
    for _ in range(200):
        ks = draw_kernels(opts, rng)
        for k in ks:
            assert k.shape == (21, 21) and k.dtype == np.float32
            assert abs(float(k.sum(dtype=np.float64)) - 1.0) < 1e-5
        sinc = ks[2]
        if sinc[10, 10] == 1.0 and np.count_nonzero(sinc) == 1:
            pulses += 1
    assert 0 < pulses < 200  # final_sinc_prob 0.8: some pulses, mostly sinc


@pytest.mark.parametrize("kind", [*KERNEL_TYPES, SINC])
def test_symmetries(kind):
    rng = np.random.default_rng(7)
    opts = KernelOptions.from_options({**OPTIONS, "kernel_list": [kind] if kind != SINC else ["iso"],
                                       "kernel_prob": [1], "sinc_prob": 1.0 if kind == SINC else 0.0})
    for _ in range(20):
        draw = draw_blur(opts.first, rng)
        assert draw.kind == kind
        k = render(draw)
        assert k.shape == (draw.size, draw.size)
        np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)  # every kernel is point-symmetric
        if not kind.endswith("aniso"):  # isotropic and sinc kernels: mirror- and transpose-symmetric
            np.testing.assert_allclose(k, k[::-1, :], atol=1e-15)
            np.testing.assert_allclose(k, k.T, atol=1e-15)
        if kind != SINC:
            assert (k >= 0).all() and k.argmax() == k.size // 2  # peak at the centre


def test_orientation():
    """theta 0 with sigma_x > sigma_y spreads along x (columns); theta pi/2 along y (rows)."""
    wide = render(KernelDraw("aniso", 21, sigma_x=3.0, sigma_y=1.0, theta=0.0))
    mx, my = axis_moments(wide)
    assert mx > 4 * my
    turned = render(KernelDraw("aniso", 21, sigma_x=3.0, sigma_y=1.0, theta=math.pi / 2))
    np.testing.assert_allclose(turned, wide.T, atol=1e-12)


def test_bessel_j1_against_known_values():
    # J1 at its first zero and at 1 (tables: J1(1) = 0.4400505857449335)
    assert abs(bessel_j1(np.array(1.0)) - 0.4400505857449335) < 1e-14
    assert abs(bessel_j1(np.array(3.8317059702075125))) < 1e-14
    scipy_special = pytest.importorskip("scipy.special")
    x = np.linspace(0, 45, 4001)
    np.testing.assert_allclose(bessel_j1(x), scipy_special.j1(x), atol=1e-13)


def test_options_errors_name_the_key():
    bad = {**OPTIONS, "kernel_prob2": [0.5, 0.5]}
    with pytest.raises(DalisrError, match="kernel_prob2"):
        KernelOptions.from_options(bad, "options file x.yml")
    with pytest.raises(DalisrError, match="'sinc_prob' in options file x.yml"):
        KernelOptions.from_options({**OPTIONS, "sinc_prob": 1.5}, "options file x.yml")
    with pytest.raises(DalisrError, match="missing key 'final_sinc_prob'"):
        KernelOptions.from_options({k: v for k, v in OPTIONS.items() if k != "final_sinc_prob"})
    with pytest.raises(DalisrError, match="kernel_list"):
        KernelOptions.from_options({**OPTIONS, "kernel_list": ["iso", "skew", "aniso", "a", "b", "c"]})
    with pytest.raises(DalisrError, match="blur_sigma2"):
        KernelOptions.from_options({**OPTIONS, "blur_sigma2": [3, 1]})


# -- against BasicSR's own functions ------------------------------------------------------------
@pytest.fixture(scope="module")
def ref():
    return basicsr_module("data.degradations")


@pytest.mark.parametrize("kind", KERNEL_TYPES)
@pytest.mark.parametrize("size", [7, 13, 21])
def test_render_matches_basicsr(ref, kind, size):
    iso = not kind.endswith("aniso")
    sx, sy, theta, beta = 1.3, (1.3 if iso else 2.1), (0.0 if iso else 0.7), (1.0 if kind == "iso" else 0.8)
    if kind.startswith("generalized"):
        want = ref.bivariate_generalized_Gaussian(size, sx, sy, theta, beta, isotropic=iso)
    elif kind.startswith("plateau"):
        want = ref.bivariate_plateau(size, sx, sy, theta, beta, isotropic=iso)
    else:
        want = ref.bivariate_Gaussian(size, sx, sy, theta, isotropic=iso)
    np.testing.assert_allclose(render(KernelDraw(kind, size, sx, sy, theta, beta)), want, rtol=0, atol=1e-15)


@pytest.mark.parametrize("size", KERNEL_SIZES)
def test_sinc_matches_basicsr(ref, size):
    for omega in (math.pi / 5, 1.1, math.pi):
        np.testing.assert_allclose(circular_lowpass(omega, size), ref.circular_lowpass_kernel(omega, size),
                                   rtol=0, atol=1e-14)


class _Recorder:
    """Stands in for the stdlib ``random`` inside BasicSR's module: records which kernel type it chose."""

    def __init__(self, seed: int) -> None:
        self.rand = random.Random(seed)
        self.chosen: list[str] = []

    def choices(self, population, weights):
        out = self.rand.choices(population, weights)
        self.chosen.append(out[0])
        return out


def _basicsr_draws(ref, n: int, seed: int = 0):
    """(size, kind, spread) of n first-degradation kernels, drawn as BasicSR's RealESRGANDataset draws them,
    plus the final sinc's (size or 0 for the pulse, spread)."""
    recorder = _Recorder(seed)
    saved_random, saved_state = ref.random, np.random.get_state()
    ref.random = recorder
    np.random.seed(seed)
    pyrand = random.Random(seed + 1)
    first, final = [], []
    try:
        for _ in range(n):
            size = pyrand.choice(KERNEL_SIZES)
            if np.random.uniform() < OPTIONS["sinc_prob"]:
                omega = np.random.uniform(math.pi / 3 if size < 13 else math.pi / 5, math.pi)
                k, kind = ref.circular_lowpass_kernel(omega, size), SINC
            else:
                k = ref.random_mixed_kernels(OPTIONS["kernel_list"], OPTIONS["kernel_prob"], size,
                                             OPTIONS["blur_sigma"], OPTIONS["blur_sigma"], [-math.pi, math.pi],
                                             OPTIONS["betag_range"], OPTIONS["betap_range"], noise_range=None)
                kind = recorder.chosen[-1]
            first.append((size, kind, (spread(k), peak(k))))
            if np.random.uniform() < OPTIONS["final_sinc_prob"]:
                fsize = pyrand.choice(KERNEL_SIZES)
                k = ref.circular_lowpass_kernel(np.random.uniform(math.pi / 3, math.pi), fsize, pad_to=21)
                final.append((fsize, (spread(k), peak(k))))
            else:
                final.append((0, (0.0, 1.0)))
    finally:
        ref.random = saved_random
        np.random.set_state(saved_state)
    return first, final


def _dalisr_draws(n: int, seed: int = 0):
    opts = KernelOptions.from_options(OPTIONS)
    first, final = [], []
    for i in range(n):
        rng = np.random.default_rng([seed, 0, i, 2])
        draw = draw_blur(opts.first, rng)
        k = render(draw)
        first.append((draw.size, draw.kind, (spread(k), peak(k))))
        fin = draw_final_sinc(opts.final_sinc_prob, rng)
        k = None if fin is None else render(fin)
        final.append((0, (0.0, 1.0)) if k is None else (fin.size, (spread(k), peak(k))))
    return first, final


@pytest.fixture(scope="module")
def both(ref):
    return _basicsr_draws(ref, N), _dalisr_draws(N)


def _counts(values, categories) -> np.ndarray:
    return np.array([sum(v == c for v in values) for c in categories], np.float64)


def test_distribution_kernel_sizes(both):
    stats = pytest.importorskip("scipy.stats")
    (ref_first, _), (our_first, _) = both
    ours = _counts([s for s, _, _ in our_first], KERNEL_SIZES)
    theirs = _counts([s for s, _, _ in ref_first], KERNEL_SIZES)
    assert stats.chisquare(ours).pvalue > 1e-3  # uniform over 7..21 odd
    assert stats.chi2_contingency(np.stack([ours, theirs])).pvalue > 1e-3


def test_distribution_kernel_types_and_sinc(both):
    stats = pytest.importorskip("scipy.stats")
    (ref_first, _), (our_first, _) = both
    cats = [*KERNEL_TYPES, SINC]
    ours = _counts([k for _, k, _ in our_first], cats)
    theirs = _counts([k for _, k, _ in ref_first], cats)
    # sinc: binomial bounds around sinc_prob
    p = OPTIONS["sinc_prob"]
    assert abs(ours[-1] / N - p) < 4 * math.sqrt(p * (1 - p) / N)
    # the other types: kernel_prob scaled by (1 - sinc_prob)
    expected = np.array([*(np.array(OPTIONS["kernel_prob"]) * (1 - p)), p]) * N
    assert stats.chisquare(ours, expected).pvalue > 1e-3
    assert stats.chi2_contingency(np.stack([ours, theirs])).pvalue > 1e-3


@pytest.mark.parametrize("stat", [0, 1], ids=["spread", "peak"])
@pytest.mark.parametrize("kind", [*KERNEL_TYPES, SINC])
def test_distribution_kernel_moments(both, kind, stat):
    """Per kernel type, the mass variance and the centre value are distributed alike (two-sample KS)."""
    stats = pytest.importorskip("scipy.stats")
    (ref_first, _), (our_first, _) = both
    ours = [v[stat] for _, k, v in our_first if k == kind]
    theirs = [v[stat] for _, k, v in ref_first if k == kind]
    if min(len(ours), len(theirs)) < 40:
        pytest.skip(f"too few {kind} draws")
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3
    # and the means agree within 5 standard errors
    se = math.sqrt(np.var(ours) / len(ours) + np.var(theirs) / len(theirs))
    assert abs(np.mean(ours) - np.mean(theirs)) < 5 * se


def test_distribution_final_sinc(both):
    stats = pytest.importorskip("scipy.stats")
    (_, ref_final), (_, our_final) = both
    p = OPTIONS["final_sinc_prob"]
    drawn = sum(s > 0 for s, _ in our_final)
    assert abs(drawn / N - p) < 4 * math.sqrt(p * (1 - p) / N)
    ours = _counts([s for s, _ in our_final], (0, *KERNEL_SIZES))
    theirs = _counts([s for s, _ in ref_final], (0, *KERNEL_SIZES))
    assert stats.chi2_contingency(np.stack([ours, theirs])).pvalue > 1e-3
    for stat in (0, 1):
        assert stats.ks_2samp([v[stat] for s, v in our_final if s],
                              [v[stat] for s, v in ref_final if s]).pvalue > 1e-3


def test_distribution_sinc_cutoff_by_size(ref):
    """Sinc kernels only (sinc_prob 1): BasicSR's cutoff ranges differ below and from size 13; the centre
    values (monotone in the cutoff) of both sides agree per size class."""
    stats = pytest.importorskip("scipy.stats")
    opts = KernelOptions.from_options({**OPTIONS, "sinc_prob": 1.0})
    rng = np.random.default_rng(11)
    state = np.random.get_state()
    np.random.seed(11)
    try:
        for small in (True, False):
            sizes = [s for s in KERNEL_SIZES if (s < 13) == small]
            ours, theirs, omegas = [], [], []
            while len(ours) < 600:
                draw = draw_blur(opts.first, rng)
                if draw.size in sizes:
                    omegas.append(draw.omega_c)
                    ours.append(peak(render(draw)))
            for i in range(600):
                size = sizes[i % len(sizes)]
                omega = np.random.uniform(math.pi / 3 if size < 13 else math.pi / 5, math.pi)
                theirs.append(peak(ref.circular_lowpass_kernel(omega, size)))
            low = math.pi / 3 if small else math.pi / 5
            assert low <= min(omegas) < low + 0.05 and max(omegas) < math.pi
            assert stats.ks_2samp(ours, theirs).pvalue > 1e-3
    finally:
        np.random.set_state(state)
