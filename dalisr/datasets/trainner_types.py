"""traiNNer-redux's dataset types by its registry names, and which ones dalisr serves."""

from __future__ import annotations

from collections.abc import Callable

from ..config import DatasetConfig
from ..errors import DalisrError
from ..storage import Store
from .base import DatasetIndex
from .trainner import build_paired, build_single_lq
from .trainner_gt import build_otf, build_single_gt

BUILDERS: dict[str, Callable[[DatasetConfig], tuple[DatasetIndex, dict[str, Store]]]] = {
    "pairedimagedataset": build_paired,
    "realesrgandataset": build_otf,
    "singlegtdataset": build_single_gt,
    "singleimagedataset": build_single_lq,
    "singlelqdataset": build_single_lq,
}
#: its types dalisr does not serve: under `dalisr run` they stay on traiNNer-redux's own loader
NOT_SERVED = ("pairedvideodataset", "realesrganpaireddataset", "singlevideodataset")


def served(kind: str) -> bool:
    """Whether dalisr serves traiNNer-redux's dataset type ``kind`` (its registry name)."""
    return kind in BUILDERS


def build_trainner(cfg: DatasetConfig, device: str = "cpu") -> tuple[DatasetIndex, dict[str, Store]]:
    """The dataset of a traiNNer-redux section (:mod:`dalisr.trainner_config` has checked it)."""
    if not served(cfg.type):
        raise DalisrError(f"{cfg.where('type')}: dalisr does not serve traiNNer-redux's {cfg.type} yet. Fix: keep "
                          "that section on traiNNer-redux's own loader (`dalisr: false` in it under `dalisr run`)")
    if cfg.opt.get("degradation") not in (None, False):
        from .degraded import build_trainner_degraded

        return build_trainner_degraded(cfg, device)
    return BUILDERS[cfg.type](cfg)
