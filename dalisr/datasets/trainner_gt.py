"""traiNNer-redux's GT-only training types: ``realesrgandataset`` (GT + Real-ESRGAN kernels, for its
``RealESRGANModel``) and ``singlegtdataset`` (GT, for an ``SRModel`` that makes the LQ with ``lq_resize_mode``).

Both, as its ``augment_vips`` and crop-or-pad do: the whole GT flipped
left-right (``use_hflip``), upside down (``use_rot``) and rotated 90 degrees
clockwise with a draw of its own *whatever* ``use_rot`` says
(:func:`dalisr.sampling.rotated_always`); then padded with black at the
bottom and right up to the square where smaller, and cut to a random square
where larger. The square is ``gt_size + 32`` for ``realesrgandataset`` (the
model cuts ``gt_size`` after degrading), ``gt_size`` for ``singlegtdataset``.
Kernels are BasicSR's (:mod:`dalisr.degrade.kernels`) with its
``kernel_range`` sizes and default options.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..degrade.kernels import KernelOptions
from ..errors import DalisrError
from ..sampling import rotated_always
from ..storage import Store
from ..trainner_config import kernel_sizes
from .base import require_samples
from .realesrgan import GTKeys, RealESRGANDataset
from .trainner import gt_only_keys, role_store

#: traiNNer-redux's RealESRGANDataset delivers a square this much larger than gt_size
OTF_MARGIN = 32


class RotatesAlways:
    """The flip rule of traiNNer-redux's GT-only types (a mixin: they keep ``use_hflip`` and ``use_rot``)."""

    rotates_always = True
    crop_pad_fill = "zeros"
    use_hflip: bool
    use_rot: bool

    def flip_bits(self, flips: np.ndarray) -> np.ndarray:
        return rotated_always(flips, self.use_hflip, self.use_rot)


class TrainnerOTFDataset(RotatesAlways, RealESRGANDataset):
    """``realesrgandataset``: batches of ``gt`` (the ``gt_size + 32`` square), ``kernel1``, ``kernel2``,
    ``sinc_kernel`` and ``gt_path``, what its ``RealESRGANModel.feed_data`` takes."""

    def __init__(self, keys: Sequence[str], kernels: KernelOptions, size: int, use_hflip: bool,
                 use_rot: bool) -> None:
        super().__init__(keys, None, kernels)
        self.crop_pad_size = size
        self.use_hflip, self.use_rot = use_hflip, use_rot


class TrainnerSingleGTDataset(RotatesAlways, GTKeys):
    """``singlegtdataset``: batches of ``gt`` (the ``gt_size`` square), ``gt_path``, ``lq_path`` (the GT's, as it
    sets it) and ``lq_resize_mode`` where the options set it (its ``SRModel`` then makes the LQ)."""

    def __init__(self, keys: Sequence[str], size: int, use_hflip: bool, use_rot: bool,
                 lq_resize_mode: str | None) -> None:
        super().__init__(keys)
        self.crop_pad_size = size
        self.use_hflip, self.use_rot = use_hflip, use_rot
        self.lq_resize_mode = lq_resize_mode

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        paths = [self.keys[int(i)] for i in indices]
        out: dict[str, list] = {"gt_path": paths, "lq_path": list(paths)}
        if self.lq_resize_mode is not None:
            out["lq_resize_mode"] = [self.lq_resize_mode] * len(paths)
        return out


def kernel_options(cfg: DatasetConfig) -> KernelOptions:
    """BasicSR's kernel options read from the section (its defaults filled in), with its ``kernel_range`` sizes."""
    opts = KernelOptions.from_options(cfg.opt, cfg.origin)
    return opts.with_sizes(*(kernel_sizes(cfg.opt, k, cfg.origin)
                             for k in ("kernel_range", "kernel_range2", "final_kernel_range")))


def gt_keys(cfg: DatasetConfig, option: str) -> tuple[list[str], Store]:
    store = role_store(cfg, option)
    keys = gt_only_keys(cfg, option, store)
    require_samples(keys, f"{cfg.origin} ({store.describe()})")
    return keys, store


def build_otf(cfg: DatasetConfig) -> tuple[TrainnerOTFDataset, dict[str, Store]]:
    keys, store = gt_keys(cfg, "dataroot_gt")
    dataset = TrainnerOTFDataset(keys, kernel_options(cfg), cfg["gt_size"] + OTF_MARGIN, cfg["use_hflip"],
                                 cfg["use_rot"])
    return dataset, {"gt": store}


def build_single_gt(cfg: DatasetConfig) -> tuple[TrainnerSingleGTDataset, dict[str, Store]]:
    keys, store = gt_keys(cfg, "dataroot_gt")
    size = cfg.get("gt_size")
    if size is None:
        raise DalisrError(f"{cfg.origin}: singlegtdataset needs gt_size (or lq_size) to cut its GT squares")
    return TrainnerSingleGTDataset(keys, size, cfg["use_hflip"], cfg["use_rot"], cfg.get("lq_resize_mode")), \
        {"gt": store}
