"""build_dataloader: from BasicSR dataset options to a running DaliLoader."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from ..config import DatasetConfig, load_dataset_options
from ..datasets import DatasetIndex, build_dataset
from ..dialect import TRAINNER
from ..errors import DalisrError
from ..graph.ops import GraphSpec
from ..graph.pipeline import RuntimeOptions
from ..sampling import EpochPlan
from ..sources.choose import first_value_is_png, first_values_depth, workers_decode_png
from ..storage import Store
from ..storage.page_cache import check_fits
from ..storage.residency import check_resident, loader_files
from ..trainner_config import enlarge_ratio
from .dali_loader import DaliLoader
from .lifecycle import cuda_initialized

log = logging.getLogger(__name__)

DEFAULT_SEED = 0
# types BasicSR (and traiNNer-redux, by its names) never crops or flips, whatever the phase
WHOLE_IMAGES = ("SingleImageDataset", "VideoTestDataset", "VideoRecurrentTestDataset", "singleimagedataset",
                "singlelqdataset")


def resolve_device(device: str) -> str:
    """``auto`` is ``gpu`` where PyTorch sees a CUDA device, else ``cpu``."""
    if device not in ("auto", "cpu", "gpu", "cuda"):
        raise DalisrError(f"device '{device}' is not one of auto, cpu, gpu")
    if device == "auto":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    if device in ("gpu", "cuda"):
        import torch

        if not torch.cuda.is_available():
            raise DalisrError("device 'gpu' was asked for but PyTorch sees no CUDA device. Fix: use device='cpu'")
        return "gpu"
    return "cpu"


def resolve_shard(shard_id: int | None, num_shards: int | None) -> tuple[int, int]:
    """Shard from the arguments, else torch.distributed's process group, else RANK / WORLD_SIZE, else (0, 1)."""
    if shard_id is not None and num_shards is not None:
        return int(shard_id), int(num_shards)
    # a process group in use means torch.distributed is imported already: never import it (and torch) here
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    return (rank if shard_id is None else int(shard_id)), (world if num_shards is None else int(num_shards))


def _device_id(device: str) -> int | None:
    if device != "gpu":
        return None
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    import torch

    return torch.cuda.current_device()


def runtime_options(cfg: DatasetConfig, device: str, batch_size: int, png_values: bool = False,
                    train_crop: bool = False) -> RuntimeOptions:
    """DALI's threads, workers and queues from BasicSR's loader options.

    Defaults measured on 2 cores (BENCHMARKS.md, "Large datasets"): one
    worker per core, and where the workers decode PNG crops
    (:func:`workers_decode_png`), half as many DALI threads as cores (1 on 2
    cores: 112 vs 88 samples/s, 4.8 vs 5.1 ms CPU a sample); where DALI
    decodes, or for raw values, its threads need the cores.
    """
    cores = os.cpu_count() or 2
    workers = cfg.get("num_worker_per_gpu", min(4, cores))
    workers_decode = workers_decode_png(png_values, train_crop, workers, None, cores)
    threads = max(1, min(4, cores // 2)) if workers_decode else max(1, min(4, cores))
    queue = 2
    if cfg.get("prefetch_mode") == "cpu":
        queue = max(1, cfg.get("num_prefetch_queue", 2))
    # DALI cannot fork workers once CUDA is initialized in the process (a GPU loader, a model on the GPU)
    start = cfg.get("py_start_method") or ("spawn" if device == "gpu" or cuda_initialized() else "fork")
    return RuntimeOptions(batch_size=batch_size, num_threads=cfg.get("num_threads", threads),
                          py_num_workers=workers, py_start_method=start, prefetch_queue_depth=queue,
                          device_id=_device_id(device))


def graph_spec(cfg: DatasetConfig, device: str, dataset: DatasetIndex | None = None) -> GraphSpec:
    def as_tuple(key):
        value = cfg.get(key)
        return None if value is None else tuple(float(v) for v in value)

    trainner = cfg.dialect == TRAINNER
    whole = cfg.type in WHOLE_IMAGES
    color_y = cfg.get("color") == "y"
    if trainner and color_y and cfg.type == "pairedimagedataset":
        log.info("%s: color: y is ignored, as traiNNer-redux's pairedimagedataset ignores it", cfg.origin)
        color_y = False
    return GraphSpec(phase="train" if cfg.phase == "train" else "val", gt_size=None if whole else cfg.get("gt_size"),
                     scale=cfg.get("scale", 1), use_hflip=bool(cfg.get("use_hflip", False)) and not whole,
                     # BasicSR's FFHQDataset flips faces but never rotates them; traiNNer-redux's GT-only types
                     # rotate whatever use_rot says
                     use_rot=(bool(cfg.get("use_rot", False)) and cfg.type != "FFHQDataset" and not whole)
                     or bool(dataset is not None and dataset.rotates_always),
                     color_y=color_y, mean=as_tuple("mean"), std=as_tuple("std"),
                     mirror_sequence=cfg.type == "Vimeo90KRecurrentDataset" and bool(cfg.get("flip_sequence", False)),
                     device=device, depth=dataset.pixel_depth if dataset is not None else 8, y_levels=trainner,
                     colour_profiles="srgb" if trainner else "ignored")


def pixel_depth(cfg: DatasetConfig, dataset: DatasetIndex, stores: dict[str, Store]) -> int:
    """Bits per channel a traiNNer-redux dataset decodes: ``bit_depth`` (dalisr's key: 8, 16, auto), where auto is
    16 if a PNG value of the first sample is 16-bit, else 8 (a later 16-bit PNG is then refused, naming the key)."""
    choice = cfg.get("bit_depth", "auto")
    if choice not in ("auto", 8, 16):
        raise DalisrError(f"{cfg.where('bit_depth')} is {choice!r}. Fix: use auto, 8 or 16")
    return first_values_depth(dataset, stores) if choice == "auto" else choice


def build_dataloader(opt: Mapping | str | os.PathLike, device: str = "auto", shard_id: int | None = None,
                     num_shards: int | None = None, seed: int | None = None, *,
                     section: str | None = None, origin: str | None = None, dialect: str | None = None) -> DaliLoader:
    """A DALI loader for a BasicSR dataset option dict or YAML file (a whole options file: ``datasets.train``).

    ``device``: ``cpu``, ``gpu`` or ``auto``. Shards default to the
    torch.distributed rank and world size (or RANK / WORLD_SIZE). ``seed``
    (default 0, the same on every rank) fixes the order, crops and flips.
    ``origin`` names where an option dict came from, for error messages.
    ``dialect``: ``basicsr`` or ``trainner`` (traiNNer-redux's schema and
    semantics); by default recognised from the options (:mod:`dalisr.dialect`).
    """
    cfg = load_dataset_options(opt, section=section, origin=origin, dialect=dialect)
    device = resolve_device(device)
    shard_id, num_shards = resolve_shard(shard_id, num_shards)
    dataset, stores = build_dataset(cfg, device)
    train = cfg.phase == "train"
    batch_size = cfg.get("batch_size_per_gpu", 16 if train else 1) if train or cfg.dialect != TRAINNER else 1
    ratio = cfg.get("dataset_enlarge_ratio", 1)
    if cfg.dialect == TRAINNER:  # `auto` and its val sections' batch of 1, as traiNNer-redux settles them
        ratio = enlarge_ratio(cfg.opt, len(dataset), batch_size)
        dataset.pixel_depth = pixel_depth(cfg, dataset, stores)
    plan = EpochPlan(num_samples=len(dataset), batch_size=batch_size,
                     seed=DEFAULT_SEED if seed is None else int(seed), shard_id=shard_id, num_shards=num_shards,
                     shuffle=cfg.get("use_shuffle", train) if train else False,
                     enlarge_ratio=ratio if train else 1,
                     last_batch=cfg.get("last_batch", "drop" if train else "pad"))
    check_fits(s.path for s in stores.values() if s.kind == "lmdb")
    check_resident(*loader_files(dataset, stores))
    spec = graph_spec(cfg, device, dataset)
    # a dataset whose LQ the graph makes decodes its values in the graph, whatever they are
    png_values = not dataset.bicubic_lq and first_value_is_png(dataset, stores)
    runtime = runtime_options(cfg, device, batch_size, png_values, train_crop=bool(spec.train and spec.gt_size))
    loader = DaliLoader(dataset, stores, plan, spec, runtime, origin=cfg.origin,
                        on_error=cfg.get("on_error", "raise"), png_values=png_values)
    log.info("%s: %d samples, %d batches of %d per epoch on shard %d/%d, device %s", cfg.origin, len(dataset),
             len(loader), batch_size, shard_id, num_shards, device)
    return loader
