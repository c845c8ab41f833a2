"""Dataset types: which store keys form a sample. Chosen by the options' ``type``."""

from __future__ import annotations

from collections.abc import Callable

from ..config import DatasetConfig
from ..dialect import TRAINNER
from ..errors import DalisrError
from ..storage import Store
from .base import DatasetIndex, Sample
from .bicubic_from_gt import TYPE_NAMES as BICUBIC_FROM_GT
from .bicubic_from_gt import build_bicubic_from_gt
from .ffhq import build_ffhq
from .paired import build_paired
from .realesrgan import build_realesrgan
from .realesrgan_paired import build_realesrgan_paired
from .reds import build_reds
from .reds_recurrent import build_reds_recurrent
from .shared import collector_paused
from .single_image import build_single_image
from .video_val import build_video_recurrent_test, build_video_test
from .vimeo90k import build_vimeo90k
from .vimeo90k_recurrent import build_vimeo90k_recurrent

BUILDERS: dict[str, Callable[[DatasetConfig], tuple[DatasetIndex, dict[str, Store]]]] = {
    "PairedImageDataset": build_paired,
    "REDSDataset": build_reds,
    "Vimeo90KDataset": build_vimeo90k,
    "FFHQDataset": build_ffhq,
    "RealESRGANPairedDataset": build_realesrgan_paired,
    "REDSRecurrentDataset": build_reds_recurrent,
    "Vimeo90KRecurrentDataset": build_vimeo90k_recurrent,
    "SingleImageDataset": build_single_image,
    "VideoTestDataset": build_video_test,
    "VideoRecurrentTestDataset": build_video_recurrent_test,
    "RealESRGANDataset": build_realesrgan,
    **dict.fromkeys(BICUBIC_FROM_GT, build_bicubic_from_gt),
}


def build_dataset(cfg: DatasetConfig, device: str = "cpu") -> tuple[DatasetIndex, dict[str, Store]]:
    """The dataset index and its stores for ``cfg.type``; ``device``: where the loader runs (a degrading dataset's
    noise fields are drawn by the graph on a GPU, by the source on a CPU)."""
    if cfg.dialect == TRAINNER:
        from .trainner_types import build_trainner

        with collector_paused():
            return build_trainner(cfg, device)
    builder = BUILDERS.get(cfg.type)
    if builder is None:
        raise DalisrError(f"{cfg.where('type')}: '{cfg.type}' has no dalisr pipeline yet. "
                          f"Fix: use one of {', '.join(BUILDERS)}")
    with collector_paused():  # a million short-lived objects must not set off full collections
        if cfg.opt.get("degradation") not in (None, False):  # true or a mapping: Real-ESRGAN's LQ made in the loader
            from .degraded import build_degraded

            return build_degraded(cfg, device)
        return builder(cfg)


__all__ = ["BUILDERS", "DatasetIndex", "Sample", "build_dataset"]
