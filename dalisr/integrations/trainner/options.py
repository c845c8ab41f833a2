"""traiNNer-redux's option file under dalisr: its strict schema sees the file without dalisr's keys.

traiNNer-redux decodes its options with msgspec, ``strict=True`` and every
struct refusing unknown fields, so ``dalisr: false`` in a section (or any of
dalisr's own keys) would stop it. Its ``yaml_load`` is run on a copy without
them (:func:`dalisr.trainner_config.strip_dalisr_keys`); dalisr reads the file
itself, keys included. The original text is what it copies into the experiment.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import yaml

from ...dialect import TRAINNER, detect
from ...errors import DalisrError
from ...trainner_config import strip_dalisr_keys


def read_options(path: str) -> dict:
    """The options file as dalisr reads it (dalisr's keys included)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise DalisrError(f"options file {path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise DalisrError(f"options file {path} does not hold a mapping of options")
    return data


def without_dalisr_keys(original: Callable[[str], Any]) -> Callable[[str], Any]:
    """traiNNer-redux's ``yaml_load``, run on the file without dalisr's keys; it returns the original text."""
    def yaml_load(file_path: str) -> Any:
        if not os.path.isfile(file_path):
            return original(file_path)  # its own message
        stripped = strip_dalisr_keys(read_options(file_path))
        with tempfile.TemporaryDirectory(prefix="dalisr-opt-") as tmp:
            copy = os.path.join(tmp, os.path.basename(file_path))
            with open(copy, "w", encoding="utf-8") as f:
                yaml.safe_dump(stripped, f, sort_keys=False)
            result = original(copy)
        with open(file_path, encoding="utf-8") as f:
            text = f.read()
        return (result[0], text) if isinstance(result, tuple) and len(result) == 2 else result

    return yaml_load


def refuse_trainner_file(path: str) -> None:
    """``dalisr train`` runs BasicSR's loop, which cannot train a traiNNer-redux file's models: say where it runs."""
    kind, why = detect(read_options(path))
    if kind == TRAINNER:
        raise DalisrError(f"{path} is a traiNNer-redux option file ({why}): BasicSR's training loop, which `dalisr "
                          "train` runs, cannot train its models. Fix: in your traiNNer-redux checkout, run `dalisr run "
                          f"train.py -opt {path}` (its own train.py, its data from dalisr)")
