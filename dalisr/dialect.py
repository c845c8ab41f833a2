"""Which trainer's option schema a file speaks: BasicSR's (and its descendants') or traiNNer-redux's.

The two share a layout (``datasets: {train: ..., val: ...}``, ``scale``,
``dataroot_gt``) but not their semantics: traiNNer-redux pairs GT and LQ by
file stem, takes folder lists, flips by default, keeps 16-bit images 16-bit
and converts embedded colour profiles (:mod:`dalisr.trainner_config`). A file
is traiNNer-redux's when it says so (``dalisr: {dialect: trainner}`` at its
top level, or the caller's ``dialect=``), else when it carries a mark no
BasicSR file carries: a dataset type spelled as traiNNer-redux registers it
(lower case: ``pairedimagedataset``), ``lq_size`` in a dataset section, a
list of folders as ``dataroot_*``, or one of its own top-level keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import DalisrError

BASICSR, TRAINNER = "basicsr", "trainner"
DIALECTS = (BASICSR, TRAINNER)

#: traiNNer-redux's registered dataset names (its registry lower-cases every lookup)
TRAINNER_TYPES = ("pairedimagedataset", "pairedvideodataset", "realesrgandataset", "realesrganpaireddataset",
                  "singlegtdataset", "singleimagedataset", "singlelqdataset", "singlevideodataset")
#: top-level keys of traiNNer-redux's schema that no BasicSR option file has
TRAINNER_TOP_KEYS = ("high_order_degradation", "use_amp", "amp_bf16", "use_channels_last", "fast_matmul",
                     "use_compile", "compile_mode", "high_order_degradations_debug", "dataroot_lq_prob")


def explicit_dialect(top: Mapping) -> str | None:
    """The dialect a file names at its top level (``dalisr: {dialect: ...}``), else None."""
    own = top.get("dalisr")
    if isinstance(own, Mapping) and own.get("dialect") is not None:
        return check_dialect(own["dialect"], "'dalisr.dialect' at the top level")
    return None


def check_dialect(value: Any, where: str) -> str:
    if value not in DIALECTS:
        raise DalisrError(f"{where} is {value!r}. Fix: use one of {', '.join(DIALECTS)}")
    return value


def section_marks(section: Mapping) -> list[str]:
    """What marks a dataset section as traiNNer-redux's (empty for a BasicSR section)."""
    marks = []
    kind = section.get("type")
    if isinstance(kind, str) and kind in TRAINNER_TYPES:
        marks.append(f"type '{kind}' is spelled as traiNNer-redux registers it")
    if section.get("lq_size") is not None:
        marks.append("'lq_size' is traiNNer-redux's key")
    for key in ("dataroot_gt", "dataroot_lq"):
        if isinstance(section.get(key), (list, tuple)):
            marks.append(f"'{key}' is a list of folders")
    return marks


def detect(full: Mapping, section: Mapping | None = None, explicit: str | None = None) -> tuple[str, str]:
    """The dialect of an options file (``full``: its top level, ``datasets`` included) or of a dataset section
    alone, and why: (dialect, reason). ``explicit`` (the caller's word) wins, then the file's own word."""
    if explicit is not None:
        return check_dialect(explicit, "dialect"), "as asked"
    said = explicit_dialect(full)
    if said is not None:
        return said, "the file says so (dalisr: {dialect: ...})"
    marks = [f"top-level key '{k}' is traiNNer-redux's" for k in TRAINNER_TOP_KEYS if k in full]
    sections = full.get("datasets") if isinstance(full.get("datasets"), Mapping) else {}
    for sec in ([section] if section is not None else []) + [s for s in sections.values() if isinstance(s, Mapping)]:
        marks += section_marks(sec)
    if marks:
        return TRAINNER, marks[0]
    return BASICSR, "no traiNNer-redux mark"
