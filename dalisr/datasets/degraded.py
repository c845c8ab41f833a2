"""RealESRGANDataset with ``degradation:``: each sample also carries every draw of its degradation.

The source emits, beside the 400 px GT square, the three kernels (trimmed
of their zero rings) and the arrays of :func:`dalisr.degrade.params.sample_arrays`;
the DALI graph (:mod:`dalisr.degrade.graph`) turns them into the LQ. The
batch then holds ``lq``, ``gt`` (USM-sharpened with ``gt_usm``), optionally
``gt_plain``, and ``gt_path``: what ``RealESRNetModel.feed_data`` would have
made, so a plain ``SRModel`` trains on it.
"""

from __future__ import annotations

import numpy as np

from ..config import DatasetConfig
from ..degrade.kernels import draw_kernels
from ..degrade.options import DegradeOptions
from ..degrade.params import sample_arrays, trim_kernel
from ..errors import DalisrError
from ..storage import Store
from .realesrgan import RealESRGANDataset, build_realesrgan

DEGRADE_OUTPUTS = {"deg_ints": "int32", "deg_floats": "float32", "noise1": "float32", "noise2": "float32",
                   **{f"area_{axis}{k}": "float32" for k in (1, 2, 3) for axis in "hw"}}


class DegradedRealESRGANDataset(RealESRGANDataset):
    """GT keys as :class:`RealESRGANDataset`; per sample, its kernels and degradation draws for the graph."""

    extra_outputs = {**RealESRGANDataset.extra_outputs, **DEGRADE_OUTPUTS}

    degradation: DegradeOptions

    @classmethod
    def from_base(cls, base: RealESRGANDataset, degradation: DegradeOptions) -> DegradedRealESRGANDataset:
        """The same samples and kernel options as ``base``, plus the degradation."""
        made = cls.__new__(cls)
        made.__dict__.update(base.__dict__)
        made.degradation = degradation
        made.crop_pad_size = degradation.crop_pad_size
        return made

    @property
    def graph_outputs(self) -> list[str]:
        """The pipeline's outputs, in order (the extra arrays are consumed by the graph)."""
        return ["gt", "lq", *(["gt_plain"] if self.degradation.gt_plain else []), "idx", "skipped"]

    def extra_arrays(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        kernels = [trim_kernel(k) for k in draw_kernels(self.kernels, rng)]
        return (*kernels, *sample_arrays(self.degradation, rng))


def degradation_options(cfg: DatasetConfig) -> DegradeOptions:
    """The ``degradation:`` block over the options file's top level over the dataset section's scale / gt_size."""
    block = cfg.get("degradation")
    below = {k: cfg.get(k) for k in ("scale", "gt_size") if cfg.get(k) is not None}
    return DegradeOptions.from_options(block if isinstance(block, dict) else {}, {**below, **cfg.top}, cfg.origin)


def build_degraded(cfg: DatasetConfig) -> tuple[DegradedRealESRGANDataset, dict[str, Store]]:
    if cfg.type != "RealESRGANDataset":
        raise DalisrError(f"{cfg.where('degradation')}: the degradation needs the kernels of type "
                          f"RealESRGANDataset, not {cfg.type}. Fix: set type: RealESRGANDataset or drop degradation")
    if cfg.phase != "train":
        raise DalisrError(f"{cfg.where('degradation')}: the degradation makes training pairs only (phase "
                          f"{cfg.phase}). Fix: validate on a PairedImageDataset")
    degradation = degradation_options(cfg)
    base, stores = build_realesrgan(cfg)
    return DegradedRealESRGANDataset.from_base(base, degradation), stores
