"""The per-sample draws of the degradation: distributions match the options, sizes follow torch's rules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dalisr.degrade.options import DegradeOptions, noise_placement
from dalisr.degrade.params import (
    DOWN,
    KEEP,
    UP,
    I,
    area_windows,
    box_width,
    draw_outputs,
    draw_sample,
    noise_fields,
    sample_arrays,
    trim_kernel,
)
from dalisr.errors import DalisrError

N = 3000


@pytest.fixture(scope="module")
def opts() -> DegradeOptions:
    return DegradeOptions.from_options({})  # Real-ESRNet x4plus's values


@pytest.fixture(scope="module")
def draws(opts):
    return [draw_sample(opts, np.random.default_rng([0, 0, p, 2])) for p in range(N)]


def _binomial_ok(hits: int, n: int, p: float) -> bool:
    """Within 4.5 standard errors (a false alarm about once in 150000 runs per check)."""
    return abs(hits - n * p) <= 4.5 * np.sqrt(n * p * (1 - p)) + 1


def _uniform_ok(values, low: float, high: float) -> bool:
    values = np.asarray(values)
    sd = (high - low) / np.sqrt(12 * len(values))
    return values.min() >= low and values.max() <= high and abs(values.mean() - (low + high) / 2) <= 4.5 * sd


def test_probabilities_match_the_options(opts, draws):
    for stage, so in (("first", opts.first), ("second", opts.second)):
        st = [getattr(d, stage) for d in draws]
        probs = np.asarray(so.resize_prob) / sum(so.resize_prob)
        for kind in (UP, DOWN, KEEP):
            assert _binomial_ok(sum(s.updown == kind for s in st), N, probs[kind]), (stage, kind)
        for mode in range(3):
            assert _binomial_ok(sum(s.mode == mode for s in st), N, 1 / 3), (stage, mode)
        assert _binomial_ok(sum(s.gaussian for s in st), N, so.gaussian_noise_prob)
        assert _binomial_ok(sum(s.gray for s in st), N, so.gray_noise_prob)
    assert _binomial_ok(sum(d.blur2 for d in draws), N, opts.second_blur_prob)
    assert _binomial_ok(sum(d.final_jpeg_first for d in draws), N, 0.5)
    for mode in range(3):
        assert _binomial_ok(sum(d.final_mode == mode for d in draws), N, 1 / 3)


def test_ranges_are_respected_and_uniform(opts, draws):
    for stage, so in (("first", opts.first), ("second", opts.second)):
        st = [getattr(d, stage) for d in draws]
        low, high = so.resize_range
        assert _uniform_ok([s.scale for s in st if s.updown == UP], 1.0, high)
        assert _uniform_ok([s.scale for s in st if s.updown == DOWN], low, 1.0)
        assert all(s.scale == 1.0 for s in st if s.updown == KEEP)
        assert _uniform_ok([s.sigma for s in st], *so.noise_range)
        assert _uniform_ok([s.poisson_scale for s in st], *so.poisson_scale_range)
        assert _uniform_ok([s.quality for s in st], *so.jpeg_range)
        q = [s.jpeg_quality for s in st]
        assert min(q) >= so.jpeg_range[0] and max(q) <= so.jpeg_range[1]
    assert _uniform_ok([d.final_quality for d in draws], *opts.second.jpeg_range)


def test_sizes_follow_real_esrgan(opts, draws):
    for d in draws[:300]:
        assert d.size1 == (int(np.floor(400 * d.first.scale)),) * 2  # scale_factor: floor(400 s)
        assert d.size2 == (int(400 / 4 * d.second.scale),) * 2  # int(ori_h / scale * s2)
        assert d.size3 == (100, 100)
        assert 0 <= d.anchor[0] <= 100 - 64 and 0 <= d.anchor[1] <= 100 - 64
    tops = [d.anchor[0] for d in draws]
    assert min(tops) == 0 and max(tops) == 36  # every position reachable


def test_vectors_carry_the_draws(opts, draws):
    d = draws[7]
    ints, floats = d.vectors()
    assert ints[I["h1"]] == d.size1[0] and ints[I["mode2"]] == d.second.mode and ints[I["q3"]] == round(d.final_quality)
    assert ints[I["kh2"]] == box_width(d.size1[0], d.size2[0])


def test_area_windows_are_k_or_k_plus_one_wide():
    for n_in, n_out in [(400, 113), (400, 100), (113, 100), (100, 517), (57, 431), (7, 7)]:
        start, end = area_windows(n_in, n_out)
        widths = set((end - start).tolist())
        k = box_width(n_in, n_out)
        assert widths <= {k, k + 1}
        assert start[0] == 0 and end[-1] == n_in


def test_noise_fields_deterministic_and_gray_one_channel(opts):
    a = sample_arrays(opts, np.random.default_rng([3, 1, 5, 2]))
    b = sample_arrays(opts, np.random.default_rng([3, 1, 5, 2]))
    c = sample_arrays(opts, np.random.default_rng([3, 1, 6, 2]))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[2], c[2]) or not np.array_equal(a[0], c[0])
    for p in range(40):
        d = draw_sample(opts, np.random.default_rng([0, 0, p, 2]))
        z1, z2 = noise_fields(d, np.random.default_rng(p))
        assert z1.shape == (*d.size1, 1 if d.first.gray else 3)  # gray noise: one field for R, G and B
        assert z2.shape == (*d.size2, 1 if d.second.gray else 3)
        assert abs(float(z1.std()) - 1) < 0.1


def test_graph_drawn_noise_leaves_the_other_draws_alone(opts):
    """With the noise drawn by the graph the source sends no fields, and every other array is the same."""
    graph = dataclasses.replace(opts, noise="graph")
    names_source, names_graph = draw_outputs(True), draw_outputs(False)
    assert list(names_source) == [*names_graph][:2] + ["noise1", "noise2"] + [*names_graph][2:]
    for p in range(10):
        ours = sample_arrays(opts, np.random.default_rng([0, 0, p, 2]))
        theirs = sample_arrays(graph, np.random.default_rng([0, 0, p, 2]))
        assert len(ours) == len(names_source) and len(theirs) == len(names_graph)
        kept = [x for name, x in zip(names_source, ours) if not name.startswith("noise")]
        assert all(np.array_equal(x, y) for x, y in zip(kept, theirs))


@pytest.mark.parametrize("choice, device, place", [("auto", "gpu", "graph"), ("auto", "cpu", "source"),
                                                   ("graph", "cpu", "graph"), ("source", "gpu", "source")])
def test_noise_placement_per_device(choice, device, place):
    assert noise_placement(choice, device) == place


def test_trim_kernel_keeps_the_support():
    k = np.zeros((21, 21), np.float32)
    k[7:14, 7:14] = np.random.default_rng(0).random((7, 7))
    assert trim_kernel(k).shape == (7, 7) and np.array_equal(trim_kernel(k), k[7:14, 7:14])
    pulse = np.zeros((21, 21), np.float32)
    pulse[10, 10] = 1
    assert trim_kernel(pulse).shape == (1, 1)
    full = np.ones((21, 21), np.float32)
    assert trim_kernel(full).shape == (21, 21)


def test_options_from_block_over_top_over_defaults():
    o = DegradeOptions.from_options({"noise_range": [2, 3]}, {"noise_range": [5, 6], "jpeg_range2": [50, 60],
                                                              "queue_size": 180})
    assert o.first.noise_range == (2.0, 3.0) and o.second.jpeg_range == (50.0, 60.0)
    assert o.second.noise_range == (1.0, 25.0)


@pytest.mark.parametrize("block, word", [({"noise_rang": [1, 2]}, "noise_rang"),
                                         ({"resize_prob": [1, 0]}, "resize_prob"),
                                         ({"jpeg_range": [30, 120]}, "jpeg_range"), ({"gt_size": 250}, "gt_size"),
                                         ({"gray_noise_prob": 1.5}, "gray_noise_prob"),
                                         ({"noise": "gpu"}, "'noise'.*auto, graph, source")])
def test_bad_options_name_the_key(block, word):
    with pytest.raises(DalisrError, match=word):
        DegradeOptions.from_options(block)
