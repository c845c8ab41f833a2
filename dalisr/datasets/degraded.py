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
import logging
from collections.abc import Sequence

import numpy as np

from ..config import DatasetConfig
from ..degrade.kernels import KernelOptions, draw_kernels
from ..degrade.options import DegradeOptions, noise_placement
from ..degrade.params import draw_outputs, sample_arrays, trim_kernel
from ..dialect import TRAINNER
from ..errors import DalisrError
from ..storage import Store
from .realesrgan import RealESRGANDataset, realesrgan_inputs
from .trainner_gt import OTF_MARGIN, RotatesAlways, gt_keys, kernel_options

log = logging.getLogger(__name__)
#: top-level degradation keys of traiNNer-redux's schema that Real-ESRGAN's degradation does not have
TRAINNER_ONLY = ("resize_mode_list", "resize_mode_prob", "resize_mode_list2", "resize_mode_prob2",
                 "resize_mode_list3", "resize_mode_prob3", "jpeg_prob", "jpeg_prob2", "blur_prob", "blur_prob2",
                 "thicklines_prob", "lq_usm", "lq_usm_radius_range")


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


def degradation_options(cfg: DatasetConfig, device: str = "cpu", crop_pad_size: int | None = None) -> DegradeOptions:
    """The ``degradation:`` block over the options file's top level over the dataset section's scale / gt_size;
    ``noise: auto`` settled for a loader on ``device``; ``crop_pad_size``: the square the dataset delivers, where
    the block does not say it (default 400, BasicSR's)."""
    block = cfg.get("degradation")
    block = dict(block) if isinstance(block, dict) else {}
    if crop_pad_size is not None:
        block.setdefault("crop_pad_size", crop_pad_size)
    below = {k: cfg.get(k) for k in ("scale", "gt_size") if cfg.get(k) is not None}
    opts = DegradeOptions.from_options(block, {**below, **top_degradation(cfg)}, cfg.origin)
    return dataclasses.replace(opts, noise=noise_placement(opts.noise, device))


def top_degradation(cfg: DatasetConfig) -> dict:
    """The options file's top level as the degradation reads it. A traiNNer-redux file's own degradation keys
    (its resize modes, JPEG and blur probabilities, thick lines, LQ sharpening) have no counterpart in
    Real-ESRGAN's degradation, which dalisr runs: they are named in one log line, and Real-ESRGAN's keys it
    shares with it are read."""
    if cfg.dialect != TRAINNER:
        return cfg.top
    own = sorted(k for k in cfg.top if k in TRAINNER_ONLY)
    if own:
        log.warning("%s: dalisr's degradation is Real-ESRGAN's; these traiNNer-redux options have no counterpart "
                    "in it and are not applied: %s (without `degradation:` its model degrades on the GPU with them)",
                    cfg.origin, ", ".join(own))
    return {k: v for k, v in cfg.top.items() if k not in TRAINNER_ONLY}


class TrainnerDegradedDataset(RotatesAlways, DegradedRealESRGANDataset):
    """traiNNer-redux's ``realesrgandataset`` (its flips, its black crop-or-pad to ``gt_size + 32``, its kernel
    sizes) with Real-ESRGAN's degradation made in the graph."""

    def __init__(self, keys: Sequence[str], kernels: KernelOptions, degradation: DegradeOptions, use_hflip: bool,
                 use_rot: bool) -> None:
        super().__init__(keys, None, kernels, degradation)
        self.use_hflip, self.use_rot = use_hflip, use_rot


def build_trainner_degraded(cfg: DatasetConfig, device: str = "cpu") -> tuple[TrainnerDegradedDataset,
                                                                              dict[str, Store]]:
    if cfg.type != "realesrgandataset" or cfg.phase != "train":
        raise DalisrError(f"{cfg.where('degradation')}: the degradation makes training pairs from a "
                          f"realesrgandataset's GT, not from {cfg.type} (phase {cfg.phase}). Fix: drop degradation")
    degradation = degradation_options(cfg, device, crop_pad_size=cfg["gt_size"] + OTF_MARGIN)
    keys, store = gt_keys(cfg, "dataroot_gt")
    return TrainnerDegradedDataset(keys, kernel_options(cfg), degradation, cfg["use_hflip"], cfg["use_rot"]), \
        {"gt": store}


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
