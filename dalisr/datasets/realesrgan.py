"""RealESRGANDataset: GT images plus three per-sample kernels, for Real-ESRGAN / Real-ESRNet training.

As BasicSR's ``RealESRGANDataset``: each sample is one GT image, flipped
(``use_hflip``, ``use_rot``), padded (reflect-101) and cut to a 400 square
(:mod:`dalisr.sources.crop_pad`), with ``kernel1``, ``kernel2`` and ``sinc_kernel``
drawn as Real-ESRGAN draws them (:mod:`dalisr.degrade.kernels`); the model
(``RealESRNetModel`` / ``RealESRGANModel.feed_data``) makes the LQ from them.

The samples, in BasicSR's order: an LMDB's ``meta_info.txt`` keys; else the
``meta_info`` file's lines (first token: a path under ``dataroot_gt``); else
(dalisr only) the image files of the ``dataroot_gt`` folder. Samples are kept
as one list of key strings; ``gt_path`` is made from the key when a batch asks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from ..config import DatasetConfig
from ..degrade.kernels import KernelOptions, draw_kernels
from ..storage import Store, open_store
from .base import DatasetIndex, gt_list, require_samples

CROP_PAD_SIZE = 400  # BasicSR hard-codes it too


class GTKeys(DatasetIndex):
    """A GT-only index kept as one list of key strings (the types that read one GT image per sample)."""

    roles = {"gt": 1}

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        return {"gt": (self.keys[index],)}

    def name(self, index: int) -> str:
        return os.path.splitext(os.path.basename(self.keys[index]))[0]


class RealESRGANDataset(GTKeys):
    """One GT key per sample; batches carry ``gt``, ``gt_path`` and the three kernels (N x 21 x 21 float32)."""

    extra_outputs = {"kernel1": "float32", "kernel2": "float32", "sinc_kernel": "float32"}
    crop_pad_size = CROP_PAD_SIZE

    def __init__(self, keys: Sequence[str], root: str | None, kernels: KernelOptions) -> None:
        """``root``: what ``gt_path`` joins the key to (``dataroot_gt``), or None where it is the key (LMDB)."""
        super().__init__(keys)
        self.root = root
        self.kernels = kernels

    def extra_arrays(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        return draw_kernels(self.kernels, rng)

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        return {"gt_path": [self.path(i) for i in indices]}

    def path(self, index: int) -> str:
        """BasicSR's ``gt_path``: the LMDB key, or ``dataroot_gt`` joined with the listed path."""
        key = self.keys[index]
        return key if self.root is None else os.path.join(self.root, key)


def _meta_info_file(cfg: DatasetConfig) -> str | None:
    """BasicSR's key is ``meta_info``; ``meta_info_file`` (the other datasets' spelling) is taken too."""
    return cfg.get("meta_info") or cfg.get("meta_info_file")


def realesrgan_index(cfg: DatasetConfig, store: Store) -> list[str]:
    """The GT keys in BasicSR's order (its list file is ``meta_info``)."""
    return gt_list(store, _meta_info_file(cfg), "meta_info", cfg.where("meta_info"))


def realesrgan_inputs(cfg: DatasetConfig) -> tuple[list[str], str | None, KernelOptions, Store]:
    """What a RealESRGANDataset (or one that extends it) is built from: keys, ``gt_path`` root, kernels, store."""
    kernels = KernelOptions.from_options(cfg.opt, cfg.origin)
    store = open_store(cfg.io_backend, cfg["dataroot_gt"], "dataroot_gt")
    keys = realesrgan_index(cfg, store)
    require_samples(keys, f"{cfg.origin} ({store.describe()})")
    root = None if store.kind == "lmdb" else cfg["dataroot_gt"]
    return keys, root, kernels, store


def build_realesrgan(cfg: DatasetConfig) -> tuple[RealESRGANDataset, dict[str, Store]]:
    keys, root, kernels, store = realesrgan_inputs(cfg)
    return RealESRGANDataset(keys, root, kernels), {"gt": store}
