"""Which source runs: the one place that decides how a dataset's frames are read, and who decodes PNG crops."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..datasets.base import DatasetIndex
from ..errors import DalisrError
from ..formats.meta_info import RAW
from ..formats.png import read_png_header
from ..sampling import EpochPlan
from ..storage import Store
from .base import FrameReader, SampleSource
from .crop_pad import CropPadReader
from .encoded import EncodedReader
from .gt_windows import GTWindowReader
from .stats import SourceStats
from .value_rules import ValueRules
from .windows import WindowReader


def first_value_is_png(dataset: DatasetIndex, stores: dict[str, Store]) -> bool:
    """Whether the first sample's first value is a PNG (datasets are one format throughout): one peek."""
    if not len(dataset):
        return False
    try:
        role = next(iter(dataset.roles))
        key = dataset.keys_for(0, np.random.default_rng(0))[role][0]
        data = stores[role].peek(key)
    except Exception:  # a broken first sample fails later, where it is read, with its own message
        return False
    return read_png_header(data) is not None


def first_values_depth(dataset: DatasetIndex, stores: dict[str, Store]) -> int:
    """16 where a value of the first sample is a 16-bit PNG, else 8 (one peek per role)."""
    if not len(dataset):
        return 8
    for role, keys in dataset.keys_for(0, np.random.default_rng(0)).items():
        try:
            head = read_png_header(stores[role].peek(keys[0]))
        except Exception:  # a broken first sample fails later, where it is read, with its own message
            continue
        if head is not None and head.bit_depth == 16:
            return 16
    return 8


def workers_decode_png(png_values: bool, train_crop: bool, workers: int, threads: int | None,
                       cores: int | None = None) -> bool:
    """Whether DALI's Python workers decode PNG training crops (row-wise, in the source) rather than DALI.

    The source decodes in DALI's Python workers, DALI in its ``num_threads``
    threads. Row-wise windows cost ~15% less CPU than DALI's ROI decoding
    (BENCHMARKS.md), so they win unless fewer workers than threads (or cores)
    would carry the work: then DALI's threads are kept busy instead. With
    ``threads`` not yet chosen, the workers must match the cores (the threads
    are then chosen fewer, see :func:`dalisr.loader.build.runtime_options`).
    """
    if not (png_values and train_crop):
        return False
    cores = cores or os.cpu_count() or 1
    need = cores if threads is None else max(1, min(threads, cores))
    return workers >= need


@dataclass(frozen=True)
class ReadOptions:
    """What a source needs to know of the graph: the crop, the flips, and who decodes PNG crops."""

    train: bool
    gt_size: int | None
    scale: int
    use_hflip: bool = False
    use_rot: bool = False
    decode_png: bool = False
    check_pairs: bool = True
    on_error: str = "raise"
    rules: ValueRules = ValueRules()  # what each value must be (traiNNer-redux's semantics: sRGB, the depth)

    @property
    def crop(self) -> bool:
        return bool(self.train and self.gt_size)


def choose_reader(dataset: DatasetIndex, stores: dict[str, Store], opts: ReadOptions,
                  stats: SourceStats | None = None) -> FrameReader:
    """A dataset whose LQ the graph makes from a GT window: the value and the window's plan; raw LMDBs: windows
    (the graph cannot decode them); a crop-or-pad dataset: its square; PNG training crops
    where the workers decode them (``opts.decode_png``): windows; otherwise whole values for DALI's decoder
    (JPEG 2000 stays with DALI, which decodes it on the GPU under ``mixed``). Mixed codecs are refused."""
    codecs = {store.codec() for store in stores.values()}
    if RAW in codecs and len(codecs) > 1:
        where = ", ".join(s.describe() for s in stores.values())
        raise DalisrError(f"the stores of one dataset mix raw and encoded values ({where}). Fix: convert "
                          "them to one codec with `dalisr convert SRC DST --codec raw|png|jp2`")
    roles = dict(dataset.roles)
    if dataset.bicubic_lq:
        if RAW in codecs:
            raise DalisrError(f"{', '.join(s.describe() for s in stores.values())} holds raw values; the LQ of "
                              f"{type(dataset).__name__} is made from encoded images (JPEG, PNG) by the graph. Fix: "
                              "convert it with `dalisr convert SRC DST --codec png`")
        return GTWindowReader(stores, opts.scale, opts.gt_size, opts.train, opts.use_hflip, opts.use_rot,
                              check_intact=opts.on_error == "skip", stats=stats)
    if RAW in codecs and opts.rules.depth == 16:
        raise DalisrError(f"{', '.join(s.describe() for s in stores.values())} holds raw values, which are 8-bit; "
                          "this loader decodes 16 bits. Fix: keep the 16-bit images as PNG (`dalisr convert SRC DST "
                          "--codec png` or png-seek)")
    if dataset.crop_pad_size:
        codec = RAW if RAW in codecs else "png"
        windows = WindowReader(stores, roles, codec, crop=True, stats=stats, rules=opts.rules)
        return CropPadReader(windows, dataset.crop_pad_size, opts.use_hflip, opts.use_rot, dataset.crop_pad_fill)
    if RAW in codecs:
        return WindowReader(stores, roles, RAW, crop=opts.crop, scale=opts.scale, gt_size=opts.gt_size, stats=stats)
    if opts.decode_png and opts.crop:
        return WindowReader(stores, roles, "png", crop=True, scale=opts.scale, gt_size=opts.gt_size, stats=stats,
                            rules=opts.rules)
    return EncodedReader(stores, roles, opts.scale, opts.gt_size if opts.train else None,
                         check_pairs=opts.check_pairs and opts.train, check_intact=opts.on_error == "skip",
                         stats=stats, rules=opts.rules)


def make_source(dataset: DatasetIndex, stores: dict[str, Store], plan: EpochPlan, opts: ReadOptions, *,
                start_epoch: int = 0, skip_batches: int = 0, stats_dir: str | None = None) -> SampleSource:
    """The source a pipeline runs, starting ``skip_batches`` into ``start_epoch``; ``stats_dir``: where it
    writes per-process counters (the profiler), else None."""
    stats = SourceStats(stats_dir) if stats_dir is not None else None
    return SampleSource(dataset, stores, plan, choose_reader(dataset, stores, opts, stats), start_epoch=start_epoch,
                        skip_batches=skip_batches, on_error=opts.on_error, stats=stats)
