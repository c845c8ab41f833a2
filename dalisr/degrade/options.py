"""Real-ESRGAN's degradation options, read under the names its option files use.

Real-ESRGAN keeps these at the top level of its options file (the model
reads them); dalisr reads them from a dataset section's ``degradation:``
block, falling back to the options file's top level, then to the values of
Real-ESRGAN's ``train_realesrnet_x4plus.yml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import DalisrError

# Real-ESRNet x4plus (options/train_realesrnet_x4plus.yml): the defaults of every option
DEFAULTS: dict[str, Any] = {
    "resize_prob": (0.2, 0.7, 0.1), "resize_range": (0.15, 1.5), "gaussian_noise_prob": 0.5,
    "noise_range": (1.0, 30.0), "poisson_scale_range": (0.05, 3.0), "gray_noise_prob": 0.4,
    "jpeg_range": (30.0, 95.0),
    "second_blur_prob": 0.8, "resize_prob2": (0.3, 0.4, 0.3), "resize_range2": (0.3, 1.2),
    "gaussian_noise_prob2": 0.5, "noise_range2": (1.0, 25.0), "poisson_scale_range2": (0.05, 2.5),
    "gray_noise_prob2": 0.4, "jpeg_range2": (30.0, 95.0),
    "scale": 4, "gt_size": 256, "gt_usm": True,
}
PROBS = ("gaussian_noise_prob", "gray_noise_prob", "second_blur_prob", "gaussian_noise_prob2", "gray_noise_prob2")
TRIPLES = ("resize_prob", "resize_prob2")
RANGES = ("resize_range", "noise_range", "poisson_scale_range", "jpeg_range", "resize_range2", "noise_range2",
          "poisson_scale_range2", "jpeg_range2")
# dalisr's own keys of the block
EXTRA = ("gt_plain", "crop_pad_size", "noise")
#: where the noise fields are drawn: ``graph`` (DALI's generators, on the pipeline's device), ``source`` (numpy, in
#: the Python workers, from seed, epoch and position), ``auto`` (graph on a GPU, source on a CPU: see
#: :func:`noise_placement`)
NOISE_PLACES = ("auto", "graph", "source")


@dataclass(frozen=True)
class StageOptions:
    """One order of degradation: resize choice, noise, JPEG (the blur comes with the kernels)."""

    resize_prob: tuple[float, float, float]  # up, down, keep
    resize_range: tuple[float, float]
    gaussian_noise_prob: float
    noise_range: tuple[float, float]
    poisson_scale_range: tuple[float, float]
    gray_noise_prob: float
    jpeg_range: tuple[float, float]


@dataclass(frozen=True)
class DegradeOptions:
    """Every option of the two-order degradation, checked."""

    first: StageOptions
    second: StageOptions
    second_blur_prob: float = 0.8
    scale: int = 4
    gt_size: int = 256
    gt_usm: bool = True
    gt_plain: bool = False  # also yield the GT before USM sharpening as ``gt_plain``
    crop_pad_size: int = 400  # the GT side length the dataset delivers (BasicSR's RealESRGANDataset: 400)
    noise: str = "auto"  # one of NOISE_PLACES; the loader settles ``auto`` for its device (:func:`noise_placement`)

    @property
    def noise_in_graph(self) -> bool:
        """Whether the graph draws the noise fields (else the source sends them; ``auto`` not yet settled counts as
        the source, the CPU's choice)."""
        return self.noise == "graph"

    @property
    def lq_in_size(self) -> int:
        """Side of the whole degraded LQ before the paired crop (Real-ESRGAN's ``ori_h // scale``)."""
        return self.crop_pad_size // self.scale

    @classmethod
    def from_options(cls, block: Mapping | None, top: Mapping | None = None,
                     origin: str = "option dict") -> DegradeOptions:
        """``block`` (the ``degradation:`` mapping) over ``top`` (the options file's top level) over DEFAULTS."""
        block = dict(block or {})
        top = dict(top or {})
        unknown = sorted(k for k in block if k not in DEFAULTS and k not in EXTRA)
        if unknown:
            raise DalisrError(f"unknown key(s) {', '.join(unknown)} in 'degradation' of {origin}. "
                              f"Fix: use Real-ESRGAN's names: {', '.join(DEFAULTS)}")
        merged = {k: block.get(k, top.get(k, v)) for k, v in DEFAULTS.items()}
        merged.update({k: block[k] for k in EXTRA if k in block})
        where = f"'degradation' of {origin}"
        _check(merged, where)

        def stage(suffix: str) -> StageOptions:
            return StageOptions(**{f.name: _tuple(merged[f.name + suffix]) for f in fields(StageOptions)})

        return cls(first=stage(""), second=stage("2"), second_blur_prob=float(merged["second_blur_prob"]),
                   scale=int(merged["scale"]), gt_size=int(merged["gt_size"]), gt_usm=bool(merged["gt_usm"]),
                   gt_plain=bool(merged.get("gt_plain", False)),
                   crop_pad_size=int(merged.get("crop_pad_size", 400)), noise=merged.get("noise", "auto"))


def noise_placement(choice: str, device: str) -> str:
    """Where a loader on ``device`` draws the noise fields: ``graph`` or ``source``.

    ``auto`` is the graph on a GPU, where DALI's generators cost the CPU
    nothing, and the source on a CPU, where they cost more than numpy's:
    DALI's CPU normal draws take ~38 ns each and its Poisson (shot noise)
    ~200 ns, numpy's float32 normal draws ~8.5 ns (2 cores, BENCHMARKS.md,
    "Real-ESRGAN's degradation, noise in the graph").
    """
    if choice == "auto":
        return "graph" if device == "gpu" else "source"
    return choice


def with_top_level(block: Mapping | bool | None, top: Mapping) -> dict:
    """The ``degradation:`` value as a full mapping: the options file's top-level degradation keys, overridden by
    the block's. For callers that pass a dataset section without its file (BasicSR's train loop does)."""
    merged = {k: top[k] for k in DEFAULTS if k in top}
    merged.update(block if isinstance(block, Mapping) else {})
    return merged


def _tuple(value: Any) -> Any:
    return tuple(float(v) for v in value) if isinstance(value, (list, tuple)) else float(value)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check(opt: dict, where: str) -> None:
    for key in PROBS:
        if not _number(opt[key]) or not 0 <= opt[key] <= 1:
            raise DalisrError(f"'{key}' in {where} must be a probability in [0, 1], got {opt[key]!r}")
    for key in TRIPLES:
        v = opt[key]
        if (not isinstance(v, (list, tuple)) or len(v) != 3 or not all(_number(x) and x >= 0 for x in v)
                or sum(v) <= 0):
            raise DalisrError(f"'{key}' in {where} must be 3 weights [up, down, keep] (not all 0), got {v!r}")
    for key in RANGES:
        v = opt[key]
        if not isinstance(v, (list, tuple)) or len(v) != 2 or not all(_number(x) for x in v) or v[0] > v[1]:
            raise DalisrError(f"'{key}' in {where} must be [low, high] with low <= high, got {v!r}")
    for key in ("resize_range", "resize_range2"):
        low, high = opt[key]
        if low <= 0 or low > 1 or high < 1:
            raise DalisrError(f"'{key}' in {where} must be [low <= 1, high >= 1] with low > 0 "
                              f"(down-scales from low, up-scales to high), got {opt[key]!r}")
    for key in ("jpeg_range", "jpeg_range2"):
        low, high = opt[key]
        if low < 1 or high > 100:
            raise DalisrError(f"'{key}' in {where} must lie within [1, 100], got {opt[key]!r}")
    for key in ("noise_range", "noise_range2", "poisson_scale_range", "poisson_scale_range2"):
        if opt[key][0] < 0:
            raise DalisrError(f"'{key}' in {where} must not be negative, got {opt[key]!r}")
    for key in ("scale", "gt_size", "crop_pad_size"):
        v = opt.get(key, 1)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise DalisrError(f"'{key}' in {where} must be a positive integer, got {v!r}")
    if opt["gt_size"] % opt["scale"]:
        raise DalisrError(f"'gt_size' in {where} ({opt['gt_size']}) is not a multiple of scale {opt['scale']}")
    if opt["gt_size"] > opt.get("crop_pad_size", 400):
        raise DalisrError(f"'gt_size' in {where} ({opt['gt_size']}) exceeds the {opt.get('crop_pad_size', 400)} "
                          "px GT the dataset delivers. Fix: use gt_size <= 400")
    if opt.get("noise", "auto") not in NOISE_PLACES:
        raise DalisrError(f"'noise' in {where} must be one of {', '.join(NOISE_PLACES)} (where the noise fields are "
                          f"drawn), got {opt['noise']!r}")
    if not isinstance(opt["gt_usm"], bool):
        raise DalisrError(f"'gt_usm' in {where} must be true or false, got {opt['gt_usm']!r}")
