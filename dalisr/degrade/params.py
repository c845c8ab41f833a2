"""Per-sample draws of every degradation parameter (and, where the source draws them, the noise fields), from
(seed, epoch, position).

Real-ESRGAN draws the resize choice, scale and mode and the noise type once
per batch (``random`` / ``np.random`` in ``feed_data``) and sigma, gray flag
and JPEG quality per sample (``torch.rand``); dalisr draws all of them per
sample, from a numpy generator keyed by the sample's (seed, epoch,
position), so a batch is as varied as Real-ESRGAN's 180-pair pool makes it,
and every rank, worker and restart draws the same values.

The generator is the one the source gives the dataset's per-sample arrays
(``source.extra_rng``): the kernels are drawn from it first, then these.
The draws travel to the DALI graph as two small vectors (``INT`` and
``FLOAT`` slots below) and the area resizes' row and column masks. The noise
fields (standard normal, one channel for gray noise) are drawn by the graph
on its device, or here where the loader says so
(:func:`dalisr.degrade.options.noise_placement`: on a CPU numpy's draws are
the cheaper) and then sent as float32 HWC arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .options import DegradeOptions, StageOptions

UP, DOWN, KEEP = 0, 1, 2
AREA, BILINEAR, BICUBIC = 0, 1, 2
MODES = ("area", "bilinear", "bicubic")
RESIZE_FIRST, JPEG_FIRST = 0, 1  # the final order: [resize + sinc] then JPEG, or JPEG then [resize + sinc]

# slots of the int vector (sizes: h, w; K*: area resize's box width, ceil(in / out), per axis)
INT_FIELDS = ("mode1", "h1", "w1", "gauss1", "gray1", "q1", "blur2", "mode2", "h2", "w2", "gauss2", "gray2", "q2",
              "order", "mode3", "h3", "w3", "top", "left", "updown1", "updown2", "q3", "h0", "w0",
              "kh1", "kw1", "kh2", "kw2", "kh3", "kw3")
FLOAT_FIELDS = ("scale1", "roi_h1", "roi_w1", "sigma1", "pscale1", "scale2", "sigma2", "pscale2",
                "quality1", "quality2", "quality3")
I = {name: i for i, name in enumerate(INT_FIELDS)}  # noqa: E741 (the int slots, as F is the float ones)
F = {name: i for i, name in enumerate(FLOAT_FIELDS)}


@dataclass(frozen=True)
class StageDraw:
    """One order's draws."""

    updown: int
    scale: float
    mode: int
    gaussian: bool
    sigma: float  # Gaussian noise sigma on the 0..255 scale
    poisson_scale: float
    gray: bool
    quality: float  # as drawn (Real-ESRGAN's DiffJPEG takes it unrounded)

    @property
    def jpeg_quality(self) -> int:
        """The integer quality the JPEG encoder gets."""
        return int(round(self.quality))


def draw_stage(rng: np.random.Generator, opt: StageOptions) -> StageDraw:
    probs = np.asarray(opt.resize_prob, np.float64)
    updown = int(rng.choice(3, p=probs / probs.sum()))
    low, high = opt.resize_range
    u = rng.random()
    scale = 1.0 + u * (high - 1.0) if updown == UP else low + u * (1.0 - low) if updown == DOWN else 1.0
    mode = int(rng.integers(3))
    gaussian = bool(rng.random() < opt.gaussian_noise_prob)
    sigma = float(rng.uniform(*opt.noise_range))
    poisson_scale = float(rng.uniform(*opt.poisson_scale_range))
    gray = bool(rng.random() < opt.gray_noise_prob)
    quality = float(rng.uniform(*opt.jpeg_range))
    return StageDraw(updown, float(scale), mode, gaussian, sigma, poisson_scale, gray, quality)


@dataclass(frozen=True)
class SampleDraws:
    """Every random choice of one sample's degradation, and the sizes they lead to."""

    first: StageDraw
    blur2: bool
    second: StageDraw
    final_jpeg_first: bool
    final_mode: int
    final_quality: float
    crop_fractions: tuple[float, float]
    size0: tuple[int, int]  # GT (h, w)
    size1: tuple[int, int]  # after the first resize
    size2: tuple[int, int]  # after the second resize
    size3: tuple[int, int]  # LQ before the crop
    anchor: tuple[int, int]  # LQ crop (top, left)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """The ints and floats the graph reads (slots named in ``INT_FIELDS`` and ``FLOAT_FIELDS``)."""
        a, b = self.first, self.second
        sizes = [self.size0, self.size1, self.size2, self.size3]
        ints = {"mode1": a.mode, "gauss1": a.gaussian, "gray1": a.gray, "q1": a.jpeg_quality,
                "blur2": self.blur2, "mode2": b.mode, "gauss2": b.gaussian, "gray2": b.gray, "q2": b.jpeg_quality,
                "order": JPEG_FIRST if self.final_jpeg_first else RESIZE_FIRST, "mode3": self.final_mode,
                "top": self.anchor[0], "left": self.anchor[1], "updown1": a.updown, "updown2": b.updown,
                "q3": int(round(self.final_quality))}
        for k, (h, w) in enumerate(sizes):
            ints[f"h{k}"], ints[f"w{k}"] = h, w
        for k in (1, 2, 3):
            (hi, wi), (ho, wo) = sizes[k - 1], sizes[k]
            ints[f"kh{k}"], ints[f"kw{k}"] = box_width(hi, ho), box_width(wi, wo)
        floats = {"scale1": a.scale, "roi_h1": self.size1[0] / a.scale, "roi_w1": self.size1[1] / a.scale,
                  "sigma1": a.sigma, "pscale1": a.poisson_scale, "scale2": b.scale, "sigma2": b.sigma,
                  "pscale2": b.poisson_scale, "quality1": a.quality, "quality2": b.quality,
                  "quality3": self.final_quality}
        return (np.array([ints[n] for n in INT_FIELDS], np.int32),
                np.array([floats[n] for n in FLOAT_FIELDS], np.float32))

    def area_masks(self) -> list[np.ndarray]:
        """For each of the three resizes, the (h, 1, 1) and (1, w, 1) masks of area windows one wider than K."""
        sizes = [self.size0, self.size1, self.size2, self.size3]
        out = []
        for k in (1, 2, 3):
            (hi, wi), (ho, wo) = sizes[k - 1], sizes[k]
            out.append(wide_windows(hi, ho).reshape(-1, 1, 1))
            out.append(wide_windows(wi, wo).reshape(1, -1, 1))
        return out


def box_width(n_in: int, n_out: int) -> int:
    """The narrower of the two window widths of adaptive average pooling from n_in to n_out: ceil(n_in / n_out)."""
    return -(-n_in // n_out)


def area_windows(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's adaptive_avg_pool windows [start, end): floor(i * n_in / n_out), ceil((i + 1) * n_in / n_out)."""
    i = np.arange(n_out, dtype=np.int64)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def wide_windows(n_in: int, n_out: int) -> np.ndarray:
    """1.0 where the window is ``box_width + 1`` wide, else 0.0 (float32): widths are only ever K or K + 1."""
    start, end = area_windows(n_in, n_out)
    return ((end - start) > box_width(n_in, n_out)).astype(np.float32)


def scaled_size(n: int, factor: float) -> int:
    """``F.interpolate(scale_factor=factor)``'s output length: floor(n * factor) in double precision."""
    return int(math.floor(float(n) * factor))


def draw_sample(opts: DegradeOptions, rng: np.random.Generator, size: tuple[int, int] | None = None) -> SampleDraws:
    """All draws of one sample from its own generator (the source keys it by seed, epoch and position).

    ``size`` is the GT's (h, w) (default: the crop-or-pad square).
    """
    from ..sampling import window_anchor

    h, w = size or (opts.crop_pad_size, opts.crop_pad_size)
    first = draw_stage(rng, opts.first)
    blur2 = bool(rng.random() < opts.second_blur_prob)
    second = draw_stage(rng, opts.second)
    jpeg_first = bool(rng.random() >= 0.5)  # Real-ESRGAN: uniform() < 0.5 -> resize + sinc first
    final_mode = int(rng.integers(3))
    final_quality = float(rng.uniform(*opts.second.jpeg_range))
    fractions = rng.random(2, dtype=np.float32)
    size1 = (scaled_size(h, first.scale), scaled_size(w, first.scale))
    # Real-ESRGAN: size=(int(ori_h / scale * s2), int(ori_w / scale * s2))
    size2 = (int(h / opts.scale * second.scale), int(w / opts.scale * second.scale))
    size3 = (h // opts.scale, w // opts.scale)
    patch = opts.gt_size // opts.scale
    anchor = window_anchor(fractions, size3[0], size3[1], patch)
    return SampleDraws(first, blur2, second, jpeg_first, final_mode, final_quality,
                       (float(fractions[0]), float(fractions[1])), (h, w), size1, size2, size3, anchor)


def noise_field(rng: np.random.Generator, shape: tuple[int, int], gray: bool) -> np.ndarray:
    """Standard normal HWC float32 field; one channel for gray noise (the graph adds it to R, G and B alike)."""
    h, w = shape
    return rng.standard_normal((h, w, 1 if gray else 3), dtype=np.float32)


def noise_fields(draws: SampleDraws, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The first and second order's noise fields of a sample."""
    return noise_field(rng, draws.size1, draws.first.gray), noise_field(rng, draws.size2, draws.second.gray)


def trim_kernel(kernel: np.ndarray) -> np.ndarray:
    """Drop all-zero outer rings of an odd square kernel (BasicSR pads 7..21 px kernels to 21 with zeros).

    Filtering with the trimmed kernel gives the same result for a fraction of
    the work; the sinc kernel's pulse (no final sinc) becomes 1 x 1.
    """
    k = np.asarray(kernel, np.float32)
    n = k.shape[0]
    ring = 0
    while ring < n // 2:
        inner = k[ring + 1:n - ring - 1, ring + 1:n - ring - 1]
        if np.count_nonzero(k[ring:n - ring, ring:n - ring]) != np.count_nonzero(inner):
            break
        ring += 1
    return np.ascontiguousarray(k[ring:n - ring, ring:n - ring])


#: the area resizes' masks, by name: rows and columns of the first, second and final resize
AREA_MASKS = tuple(f"area_{axis}{k}" for k in (1, 2, 3) for axis in "hw")


def draw_outputs(with_noise: bool) -> dict[str, str]:
    """The arrays :func:`sample_arrays` makes, name -> dtype, in order; ``with_noise``: the source draws the noise
    fields."""
    names = {"deg_ints": "int32", "deg_floats": "float32"}
    if with_noise:
        names.update(noise1="float32", noise2="float32")
    names.update(dict.fromkeys(AREA_MASKS, "float32"))
    return names


def sample_arrays(opts: DegradeOptions, rng: np.random.Generator,
                  size: tuple[int, int] | None = None) -> tuple[np.ndarray, ...]:
    """What a degrading source emits for one sample (:func:`draw_outputs` ``(not opts.noise_in_graph)``): ints,
    floats, the two noise fields unless the graph draws them, the six area masks."""
    draws = draw_sample(opts, rng, size)
    ints, floats = draws.vectors()
    fields = () if opts.noise_in_graph else noise_fields(draws, rng)
    return (ints, floats, *fields, *draws.area_masks())
