"""dalisr: a DALI input pipeline for image and video super-resolution training."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import DalisrError

if TYPE_CHECKING:
    from .loader.dali_loader import DaliLoader

__version__ = "0.1.0"


def build_dataloader(opt: Mapping | str | os.PathLike, device: str = "auto", shard_id: int | None = None,
                     num_shards: int | None = None, seed: int | None = None, *,
                     section: str | None = None, dialect: str | None = None) -> DaliLoader:
    """A DALI loader for BasicSR dataset options (a dict, a dataset YAML, or a whole options file), or
    traiNNer-redux's (``dialect="trainner"``, or recognised from the options).

    See :func:`dalisr.loader.build.build_dataloader`; DALI and torch are imported on first use.
    """
    from .loader.build import build_dataloader as build

    return build(opt, device=device, shard_id=shard_id, num_shards=num_shards, seed=seed, section=section,
                 dialect=dialect)


__all__ = ["DalisrError", "__version__", "build_dataloader"]
