"""The stand-ins dalisr puts in place of traiNNer-redux's data functions for one run of its train.py.

Its ``train.py`` builds each section with ``build_dataset`` and
``build_dataloader`` (the train section with an ``EnlargedSampler``), reads
batches through ``CPUPrefetcher`` / ``CUDAPrefetcher``, and saves through its
model: each is bound to these for the run (:mod:`.script`). The train
section is served by dalisr with traiNNer-redux's semantics
(:mod:`dalisr.datasets.trainner`); val sections stay on its loader, because
its loop and models check their classes (``isinstance`` of its
``PairedImageDataset`` when metrics are on, of its ``BaseDataset`` in every
validation); sections with ``dalisr: false`` and types dalisr does not serve
stay too. Each section says which in one log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ...errors import DalisrError
from ...loader.build import build_dataloader as dalisr_dataloader
from ...loader.dali_loader import DaliLoader
from ...trainner_config import canonical_type
from ..stand_ins import DalisrBatches, DalisrDataset, LoopStandIns
from .options import read_options
from .resume import SavesLoaderState, read_states

log = logging.getLogger("traiNNer.dalisr")

#: the samples' name in its logs, per type
LABELS = {"pairedimagedataset": "image pairs", "realesrgandataset": "images", "singlegtdataset": "GT-only images",
          "singleimagedataset": "images", "singlelqdataset": "images"}


class TrainnerLauncher(LoopStandIns):
    """The stand-ins bound into traiNNer-redux for one run; its originals serve the sections dalisr does not."""

    def __init__(self, options_file: str) -> None:
        self.options_file = options_file
        self.raw = read_options(options_file)  # with dalisr's keys, which its schema never sees
        self.originals: dict[str, Any] = {}
        self.opt: Any = None  # its parsed options (ReduxOptions), from parse_options
        self.train: DalisrBatches | None = None
        self.loaders: list[DaliLoader] = []

    def parse_options(self, original: Callable) -> Callable:
        """Its ``parse_options``, handing the launcher the options (rank, world size, seed, paths) it returns."""
        def parse_for_dalisr(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            self.opt = result[0] if isinstance(result, tuple) else result
            return result

        return parse_for_dalisr

    # -- stand-ins, in the order its train.py calls them -------------------------------------------------------
    def build_dataset(self, dataset_opt: Any) -> Any:
        section = self._section_name(dataset_opt)
        raw = (self.raw.get("datasets") or {}).get(section, {})
        kind = canonical_type(dataset_opt.type, f"'type' in {self.options_file} (datasets.{section})")
        stays = None
        if raw.get("dalisr", True) is False:
            stays = "dalisr: false"
        elif dataset_opt.phase != "train":
            stays = ("its loop and models check that val datasets are its own classes (PairedImageDataset when "
                     "metrics are on, BaseDataset in every validation)")
        elif kind not in LABELS:
            stays = f"dalisr does not serve {kind}"
        if stays is not None:
            log.info("dalisr: datasets.%s (type %s) stays on traiNNer-redux's own dataset and loader: %s", section,
                     dataset_opt.type, stays)
            return self.originals["build_dataset"](dataset_opt)
        return self._dalisr_dataset(dataset_opt, section, kind)

    def build_dataloader(self, dataset: Any, dataset_opt: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(dataset, DalisrDataset):
            self.train = DalisrBatches(dataset)
            return self.train
        return self.originals["build_dataloader"](dataset, dataset_opt, *args, **kwargs)

    def build_model(self, opt: Any) -> Any:
        model = self.originals["build_model"](opt)
        if self.train is None:
            return model
        return SavesLoaderState(model, self.train, opt.rank or 0, opt.path.training_states)

    def close(self) -> None:
        for loader in self.loaders:
            loader.close()

    # -- internals ------------------------------------------------------------------------------------------------
    def _section_name(self, dataset_opt: Any) -> str:
        for name, section in (getattr(self.opt, "datasets", None) or {}).items():
            if section is dataset_opt:
                return str(name)
        return str(dataset_opt.phase or "train")

    def _device(self) -> str:
        import torch

        return "gpu" if self.opt.num_gpu != 0 and torch.cuda.is_available() else "cpu"

    def _dalisr_dataset(self, dataset_opt: Any, section: str, kind: str) -> DalisrDataset:
        opt = self.opt
        where = f"options file {self.options_file} (datasets.{section})"
        try:
            loader = dalisr_dataloader(self.options_file, device=self._device(), shard_id=opt.rank or 0,
                                       num_shards=opt.world_size or 1, seed=opt.manual_seed, section=section,
                                       dialect="trainner")
        except DalisrError as err:
            raise DalisrError(f"{err}. Or set 'dalisr: false' in datasets.{section} of {self.options_file} to load "
                              "that section with traiNNer-redux's own loader") from None
        self.loaders.append(loader)
        log.info("dalisr: datasets.%s (type %s) is served by dalisr: %d samples from %s", section, dataset_opt.type,
                 len(loader.dataset), ", ".join(f"{role}: {s.describe()}" for role, s in loader.stores.items()))
        self._resume(loader, where)
        # its epoch arithmetic (enlarge ratio `auto`, iterations per epoch) on the true count, as dalisr's plan
        return DalisrDataset(dataset_opt, loader, len(loader.dataset), LABELS[kind])

    def _resume(self, loader: DaliLoader, where: str) -> None:
        resume_state = self.opt.path.resume_state
        if not resume_state:
            return
        saved = read_states(resume_state)
        if saved is None:
            log.warning("dalisr: %s has no loader positions beside it (not saved under dalisr): the epoch restarts "
                        "from its first batch, as traiNNer-redux does", resume_state)
            return
        world = self.opt.world_size or 1
        if len(saved) != world:
            raise DalisrError(f"{resume_state}.dalisr holds loader positions of {len(saved)} ranks, this run has "
                              f"{world} ({where}). Fix: resume with the same number of processes")
        loader.load_state_dict(saved[self.opt.rank or 0])
        log.info("dalisr: resuming epoch %d at batch %d of %d", loader.epoch, loader.batch, len(loader))
