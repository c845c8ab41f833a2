"""RealESRGANDataset with ``degradation:``: each sample also carries every draw of its degradation.

The source emits, beside the 400 px GT square, the three kernels (trimmed
of their zero rings) and the arrays of :func:`dalisr.degrade.params.sample_arrays`
(the noise fields among them only where the source draws them: on a CPU);
the DALI graph (:mod:`dalisr.degrade.graph`) turns them into the LQ. The
batch then holds ``lq``, ``gt`` (USM-sharpened with ``gt_usm``), optionally
``gt_plain``, and ``gt_path``: what ``RealESRNetModel.feed_data`` would have
made, so a plain ``SRModel`` trains on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..config import DatasetConfig
from ..degrade.kernels import KernelOptions, draw_kernels
from ..degrade.options import DegradeOptions, noise_placement
from ..degrade.params import draw_outputs, sample_arrays, trim_kernel
from ..errors import DalisrError
from ..storage import Store
from .realesrgan import RealESRGANDataset, realesrgan_inputs


class DegradedRealESRGANDataset(RealESRGANDataset):
    """GT keys as :class:`RealESRGANDataset`; per sample, its kernels and degradation draws for the graph."""

    extras_to_batch = False  # the kernels and draws are consumed by the graph

    def __init__(self, keys: Sequence[str], root: str | None, kernels: KernelOptions,
                 degradation: DegradeOptions) -> None:
        super().__init__(keys, root, kernels)
        self.degradation = degradation
        self.crop_pad_size = degradation.crop_pad_size
        self.extra_outputs = {**RealESRGANDataset.extra_outputs, **draw_outputs(not degradation.noise_in_graph)}

    @property
    def graph_draws(self) -> bool:
        """The graph draws the noise fields with DALI's generators (their state is part of the loader's)."""
        return self.degradation.noise_in_graph

    @property
    def graph_images(self) -> tuple[str, ...]:
        """The degradation's outputs replace the role: GT (sharpened), LQ, optionally the plain GT."""
        return ("gt", "lq", *(("gt_plain",) if self.degradation.gt_plain else ()))

    def extra_arrays(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        kernels = [trim_kernel(k) for k in draw_kernels(self.kernels, rng)]
        return (*kernels, *sample_arrays(self.degradation, rng))


def degradation_options(cfg: DatasetConfig, device: str = "cpu") -> DegradeOptions:
    """The ``degradation:`` block over the options file's top level over the dataset section's scale / gt_size;
    ``noise: auto`` settled for a loader on ``device``."""
    block = cfg.get("degradation")
    below = {k: cfg.get(k) for k in ("scale", "gt_size") if cfg.get(k) is not None}
    opts = DegradeOptions.from_options(block if isinstance(block, dict) else {}, {**below, **cfg.top}, cfg.origin)
    return dataclasses.replace(opts, noise=noise_placement(opts.noise, device))


def build_degraded(cfg: DatasetConfig, device: str = "cpu") -> tuple[DegradedRealESRGANDataset, dict[str, Store]]:
    if cfg.type != "RealESRGANDataset":
        raise DalisrError(f"{cfg.where('degradation')}: the degradation needs the kernels of type "
                          f"RealESRGANDataset, not {cfg.type}. Fix: set type: RealESRGANDataset or drop degradation")
    if cfg.phase != "train":
        raise DalisrError(f"{cfg.where('degradation')}: the degradation makes training pairs only (phase "
                          f"{cfg.phase}). Fix: validate on a PairedImageDataset")
    degradation = degradation_options(cfg, device)
    keys, root, kernels, store = realesrgan_inputs(cfg)
    return DegradedRealESRGANDataset(keys, root, kernels, degradation), {"gt": store}
