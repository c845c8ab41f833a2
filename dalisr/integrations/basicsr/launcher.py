"""The stand-ins dalisr puts in place of basicsr's data functions for one run, BasicSR's originals serving
``dalisr: false``: ``build_dataset`` (a dalisr loader per served section), ``EnlargedSampler``,
``build_dataloader``, the prefetchers, ``build_model`` (checkpoints carry loader positions) and
``load_resume_state``. :mod:`.train_pipeline` binds them into ``basicsr.train``, :mod:`.data_modules` into
``basicsr.data`` and ``basicsr.models``.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from ...degrade.options import with_top_level
from ...errors import DalisrError
from ...loader.build import build_dataloader as dalisr_dataloader
from ...loader.dali_loader import DaliLoader
from ..stand_ins import DalisrBatches, DalisrDataset, LoopStandIns
from .registry import stays_on_repository_loader
from .resume import LOADER_STATES_KEY, SavesLoaderStates, load_resume_state
from .video_val import INDEXED_TYPES, IndexedVideoVal, indexed_video_val

log = logging.getLogger("basicsr.dalisr")


def uses_dalisr(dataset_opt: Mapping, where: str = "a dataset section") -> bool:
    """Whether dalisr serves a dataset section (``dalisr: false`` opts out)."""
    value = dataset_opt.get("dalisr", True)
    if not isinstance(value, bool):
        raise DalisrError(f"'dalisr' in {where} must be true or false, got {value!r}. Fix: dalisr: false to use "
                          "BasicSR's own loader for it, or remove the key")
    return value


def length_for_basicsr(num_samples: int, num_batches: int, batch: int, world: int, ratio: int) -> int | None:
    """The ``len(train_set)`` for which BasicSR's iters-per-epoch, ``ceil(len * ratio / (batch * world))``,
    is dalisr's ``len(loader)``. dalisr (like BasicSR's sampler with ``drop_last``) drops each shard's last
    partial batch, which BasicSR's formula does not see. None when no count fits."""
    def iters(n: int) -> int:
        return math.ceil(n * ratio / (batch * world))

    if iters(num_samples) == num_batches:
        return num_samples
    n = num_batches * batch * world // ratio
    return n if n > 0 and iters(n) == num_batches else None


class BasicsrLauncher(LoopStandIns):
    """The stand-ins bound into basicsr for one run; basicsr's originals serve the sections dalisr does not."""

    def __init__(self, options_file: str) -> None:
        self.options_file = options_file
        self.originals: dict[str, Any] = {}
        self.opt: dict | None = None
        self.resume_state: dict | None = None
        self.train: DalisrBatches | None = None
        self.loaders: list[DaliLoader] = []
        self.indexed: list[IndexedVideoVal] = []

    # -- stand-ins, in the order train_pipeline calls them --------------------
    def load_resume_state(self, opt: dict) -> dict | None:
        self.opt = opt
        self.resume_state = load_resume_state(opt)
        return self.resume_state

    def capturing_options(self, parser: Callable) -> Callable:
        """``parser`` (a copy's ``parse_options`` or ``parse``), handing the launcher the options it returns: for
        loops that load their resume state themselves (1.3.2 copies, a script's own loop). dalisr reads only the
        loader positions from the state."""
        def parse_for_dalisr(*args: Any, **kwargs: Any) -> Any:
            result = parser(*args, **kwargs)
            opt = result[0] if isinstance(result, tuple) else result
            if opt is not self.opt:
                self.opt = opt
                self.resume_state = load_resume_state(opt, positions_only=True)
            return result

        return parse_for_dalisr

    def build_dataset(self, dataset_opt: dict) -> Any:
        section = self._section_name(dataset_opt)
        where = f"options file {self.options_file} (datasets.{section})"
        if not uses_dalisr(dataset_opt, where):
            log.info("dalisr: datasets.%s (type %s) stays on its own dataset and loader (dalisr: false)", section,
                     dataset_opt.get("type"))
            return self.originals["build_dataset"](dataset_opt)
        if stays_on_repository_loader(dataset_opt, section, where):
            return self.originals["build_dataset"](dataset_opt)
        if dataset_opt.get("phase") != "train" and self._validates_by_index():
            indexed = self._indexed_val(dataset_opt, section, where)
            if indexed is not None:
                return indexed
            log.warning("dalisr: datasets.%s is loaded by BasicSR's own loader: %s validates by indexing its val "
                        "dataset (dataset[i], data_info), which dalisr serves for %s, not for %s",
                        section, self.opt["model_type"], " and ".join(INDEXED_TYPES), dataset_opt.get("type"))
            return self.originals["build_dataset"](dataset_opt)
        return self._dalisr_dataset(dataset_opt, section, where)

    def build_dataloader(self, dataset: Any, dataset_opt: dict, *args: Any, **kwargs: Any) -> Any:
        if isinstance(dataset, DalisrDataset):
            batches = DalisrBatches(dataset)
            if dataset_opt["phase"] == "train":
                self.train = batches
            return batches
        return self.originals["build_dataloader"](dataset, dataset_opt, *args, **kwargs)

    def build_model(self, opt: dict) -> Any:
        model = self.originals["build_model"](opt)
        return SavesLoaderStates(model, self.train, opt["rank"]) if self.train is not None else model

    def close(self) -> None:
        for loader in self.loaders:
            loader.close()
        for val_set in self.indexed:
            val_set.close()

    # -- internals --------------------------------------------------------------
    def _section_name(self, dataset_opt: Mapping) -> str:
        for name, section in (self.opt or {}).get("datasets", {}).items():
            if section is dataset_opt:
                return str(name)
        return str(dataset_opt.get("phase", "train"))

    def _validates_by_index(self) -> bool:
        """BasicSR's video models (VideoBaseModel and subclasses) read val samples as ``dataset[i]``: dalisr gives
        them an :class:`IndexedVideoVal` for the types it indexes, else BasicSR's own dataset. A copy without video
        models (DAT's) has no model that does."""
        if importlib.util.find_spec("basicsr.models.video_base_model") is None:
            return False
        from basicsr.models.video_base_model import VideoBaseModel
        from basicsr.utils.registry import MODEL_REGISTRY

        name = self.opt.get("model_type")
        if name not in MODEL_REGISTRY:
            return False  # BasicSR's build_model will say so
        model_class = MODEL_REGISTRY.get(name)
        return isinstance(model_class, type) and issubclass(model_class, VideoBaseModel)

    def _own_loader_hint(self, section: str) -> str:
        """The other way out of a dalisr error in a section: BasicSR's own loader for it."""
        return (f"Or set 'dalisr: false' in datasets.{section} of {self.options_file} to load that section with "
                "BasicSR's own loader")

    def _indexed_val(self, dataset_opt: dict, section: str, where: str) -> IndexedVideoVal | None:
        """The val set a video model indexes, read through dalisr's stores (None: a type dalisr does not index)."""
        try:
            indexed = indexed_video_val(dataset_opt, where)
        except DalisrError as err:
            raise DalisrError(f"{err}. {self._own_loader_hint(section)}") from None
        if indexed is not None:
            self.indexed.append(indexed)
        return indexed

    def _device(self) -> str:
        import torch

        return "gpu" if self.opt.get("num_gpu", 0) != 0 and torch.cuda.is_available() else "cpu"

    def _dalisr_dataset(self, dataset_opt: dict, section: str, where: str) -> DalisrDataset:
        opt = self.opt
        train = dataset_opt.get("phase") == "train"
        options = dict(dataset_opt)
        if options.get("degradation") not in (None, False):  # Real-ESRGAN keeps these at the file's top level
            options["degradation"] = with_top_level(options["degradation"], opt)
        if not train:
            options["batch_size_per_gpu"] = 1  # BasicSR validates one image at a time
        shard, world = (opt["rank"], opt["world_size"]) if train else (0, 1)  # val: rank 0 sees all
        try:
            loader = dalisr_dataloader(options, device=self._device(), shard_id=shard, num_shards=world,
                                       seed=opt["manual_seed"], origin=where)
        except DalisrError as err:
            raise DalisrError(f"{err}. {self._own_loader_hint(section)} (a type a repository defines stays on its "
                              "loader by itself once its package is imported: dalisr run path/to/train.py or "
                              "dalisr train --import PKG)") from None
        self.loaders.append(loader)
        log.info("dalisr: datasets.%s (type %s) is served by dalisr: %d samples from %s", section,
                 dataset_opt.get("type"), len(loader.dataset),
                 ", ".join(f"{role}: {store.describe()}" for role, store in loader.stores.items()))
        length = len(loader.dataset)
        if train:
            length = self._train_length(loader, options, world)
            self._resume(loader)
        return DalisrDataset(dataset_opt, loader, length)

    def _train_length(self, loader: DaliLoader, options: dict, world: int) -> int:
        ratio = options.get("dataset_enlarge_ratio", 1)
        fitted = length_for_basicsr(len(loader.dataset), len(loader), loader.batch_size, world, ratio)
        if fitted is None:
            log.warning("dalisr: %d iterations per epoch (the last partial batch of each rank is dropped); "
                        "BasicSR's 'iter number per epoch' below counts it", len(loader))
            return len(loader.dataset)
        if fitted != len(loader.dataset):
            log.info("dalisr: %d train samples; each epoch uses %d of them x enlarge ratio %d in %d iterations "
                     "(each rank drops its last partial batch), which the figures below count",
                     len(loader.dataset), fitted, ratio, len(loader))
        return fitted

    def _resume(self, loader: DaliLoader) -> None:
        state = self.resume_state
        if state is None:
            return
        saved = state.get(LOADER_STATES_KEY)
        if not saved:
            log.warning("dalisr: the resume state has no loader positions (not saved by dalisr train): "
                        "epoch %d restarts from its first batch, as in BasicSR", state["epoch"])
            loader.set_epoch(state["epoch"])
            return
        if len(saved) != self.opt["world_size"]:
            raise DalisrError(f"the resume state holds loader positions of {len(saved)} ranks, this run has "
                              f"{self.opt['world_size']}. Fix: resume with the same number of processes")
        loader.load_state_dict(saved[self.opt["rank"]])
        state["epoch"] = loader.epoch  # BasicSR starts its epoch loop here (next epoch if the saved one ended)
        log.info("dalisr: resuming epoch %d at batch %d of %d", loader.epoch, loader.batch, len(loader))
