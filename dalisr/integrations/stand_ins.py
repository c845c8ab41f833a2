"""What a training loop built like BasicSR's (BasicSR's train_pipeline, traiNNer-redux's train.py) gets for a
dalisr section in place of its dataset, sampler, loader and prefetcher."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..loader.dali_loader import DaliLoader


class DalisrDataset:
    """What ``build_dataset`` returns for a dalisr section: the index is read, DALI not yet started.

    ``opt`` is the section as the loop holds it (BasicSR's validation reads ``dataset.opt['name']``); ``len()``
    is what the loop's epoch arithmetic needs (BasicSR: :func:`~dalisr.integrations.basicsr.launcher.
    length_for_basicsr`); ``label`` what traiNNer-redux's logs name the samples.
    """

    def __init__(self, opt: Any, loader: DaliLoader, length: int, label: str = "samples") -> None:
        self.opt = opt
        self.loader = loader
        self._length = length
        self.label = label

    def __len__(self) -> int:
        return self._length


class DalisrBatches:
    """What BasicSR's ``build_dataloader`` returns for a dalisr section: each ``for`` runs the rest of an epoch."""

    def __init__(self, dataset: DalisrDataset) -> None:
        self.dataset = dataset
        self.loader = dataset.loader

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.loader)

    def state_dict(self) -> dict:
        return self.loader.state_dict()


class EpochSetter:
    """BasicSR's ``EnlargedSampler`` for a dalisr section: only ``set_epoch`` is used.

    A resumed loader already stands mid-way in BasicSR's current epoch; setting
    the epoch it is in keeps that position instead of restarting the epoch.
    """

    def __init__(self, dataset: DalisrDataset) -> None:
        self.dataset = dataset

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.dataset.loader.epoch:
            self.dataset.loader.set_epoch(epoch)


class DalisrPrefetcher:
    """BasicSR's prefetcher interface (``next``/``reset``) without reading ahead.

    DALI already prefetches (and on the GPU its tensors are on CUDA); not
    reading ahead keeps the loader's position exact for checkpoints.
    """

    def __init__(self, batches: DalisrBatches) -> None:
        self.batches = batches
        self._it = iter(batches)

    def next(self) -> dict | None:
        return next(self._it, None)

    def reset(self) -> None:
        self._it = iter(self.batches)


class LoopStandIns:
    """The sampler and prefetcher stand-ins a launcher binds in place of a BasicSR-shaped loop's (BasicSR's,
    traiNNer-redux's): for a dalisr section the ones above, for any other the loop's originals
    (``self.originals``, filled by the launcher's binding)."""

    originals: dict[str, Any]

    def EnlargedSampler(self, dataset: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        if isinstance(dataset, DalisrDataset):
            return EpochSetter(dataset)
        return self.originals["EnlargedSampler"](dataset, *args, **kwargs)

    def CPUPrefetcher(self, loader: Any) -> Any:  # noqa: N802
        if isinstance(loader, DalisrBatches):
            return DalisrPrefetcher(loader)
        return self.originals["CPUPrefetcher"](loader)

    def CUDAPrefetcher(self, loader: Any, opt: Any) -> Any:  # noqa: N802
        if isinstance(loader, DalisrBatches):
            return DalisrPrefetcher(loader)  # DALI prefetches, on the GPU already
        return self.originals["CUDAPrefetcher"](loader, opt)
