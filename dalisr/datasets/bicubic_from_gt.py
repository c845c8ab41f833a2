"""GT images alone; the LQ is MATLAB's bicubic downscale of each, made by the graph (no LR folders to prepare).

The semantics of HAT's ``ImageNetPairedDataset`` (HMA's ``PairedImageNetDataset``
is the same), which HAT, DRCT and HMA pretrain on ImageNet with, served under
those names and as dalisr's ``BicubicFromGTDataset``: each GT image is cut to a
multiple of ``scale``, upscaled (bilinear) to ``gt_size`` on an axis shorter
than that, and its LQ is ``imresize(GT, 1 / scale)`` of the whole image, in
float. Training crops a paired ``gt_size`` window and flips it as
``PairedImageDataset``; val keeps whole images. The graph makes each pair from
one window of the GT (:mod:`dalisr.graph.bicubic`), equal to the whole-image
reference.

The samples, in HAT's order: an LMDB's ``meta_info.txt`` keys; else
``meta_info_file`` (the first token of each line: a path under
``dataroot_gt``); else the image files of the ``dataroot_gt`` folder, sorted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from ..config import BICUBIC_FROM_GT, DatasetConfig
from ..contract import GT_CROPS_OUTPUT, GT_WINDOW_OUTPUT
from ..storage import Store, open_store
from .base import DatasetIndex, gt_list, require_samples
from .keytable import KeyTable
from .shared import collector_paused

#: the type names served with these semantics (HAT's, HMA's, dalisr's own)
TYPE_NAMES = BICUBIC_FROM_GT
#: dalisr's own name, whose batches also carry lq_path
NATIVE = "BicubicFromGTDataset"


class BicubicFromGT(DatasetIndex):
    """One GT key per sample; the graph makes ``gt`` and ``lq`` from a window the reader plans (``window``)."""

    roles = {"gt": 1}
    # a contract.GTWindow and its crops, made by the reader from the value's header
    extra_outputs = {GT_WINDOW_OUTPUT: "int32", GT_CROPS_OUTPUT: "float32"}
    extras_to_batch = False
    graph_images = ("gt", "lq")
    bicubic_lq = True

    def __init__(self, keys: KeyTable, root: str | None, lq_path: bool = False) -> None:
        """``root``: what ``gt_path`` joins the key to (``dataroot_gt``), or None where it is the key (LMDB);
        ``lq_path``: batches also carry ``lq_path`` (the same path: the LQ is made from that image), which
        BasicSR's SRModel names validation images by. HAT's class has none."""
        self.keys = keys
        self.root = root
        self.lq_path = lq_path

    def __len__(self) -> int:
        return len(self.keys)

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        return {"gt": (self.keys[index],)}

    def name(self, index: int) -> str:
        return os.path.splitext(os.path.basename(self.keys[index]))[0] or str(index)

    def path(self, index: int) -> str:
        """HAT's ``gt_path``: the LMDB key, or ``dataroot_gt`` joined with the listed path."""
        key = self.keys[index]
        return key if self.root is None else os.path.join(self.root, key)

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        paths = [self.path(int(i)) for i in indices]
        return {"gt_path": paths, "lq_path": paths} if self.lq_path else {"gt_path": paths}

    def fingerprint(self) -> str:
        return f"{type(self).__name__}:{self.keys.digest()}"


def build_bicubic_from_gt(cfg: DatasetConfig) -> tuple[BicubicFromGT, dict[str, Store]]:
    store = open_store(cfg.io_backend, cfg["dataroot_gt"], "dataroot_gt")
    with collector_paused():
        # HAT's order: an LMDB's meta info, meta_info_file (its class has no meta_info key), a folder scan
        keys = KeyTable.from_strings(gt_list(store, cfg.get("meta_info_file"), "meta_info_file",
                                             cfg.where("meta_info_file")))
    require_samples(keys, f"{cfg.origin} ({store.describe()})")
    root = None if store.kind == "lmdb" else cfg["dataroot_gt"]
    return BicubicFromGT(keys, root, lq_path=cfg.type == NATIVE), {"gt": store}
