"""traiNNer-redux's dataset options, checked as its schema checks them and put in the form dalisr builds from.

traiNNer-redux (the-database/traiNNer-redux) decodes its option files with a
strict schema (msgspec, unknown keys refused, no type coercion) and differs
from BasicSR in what the keys mean: types are looked up case-insensitively
(its files spell them ``pairedimagedataset``); ``dataroot_gt`` /
``dataroot_lq`` are a folder or a list of folders; a training section sets
exactly one of ``gt_size`` and ``lq_size`` (the other is derived);
``use_hflip`` and ``use_rot`` default to true; ``dataset_enlarge_ratio``
defaults to ``auto`` (``max(2000 * batch // samples, 1)``); the Real-ESRGAN
kernels take ``kernel_range`` sizes and default to its values.
:func:`trainner_options` returns the section with those rules applied (folder
lists as lists, defaults filled, ``gt_size`` derived), which the datasets of
:mod:`dalisr.datasets.trainner` build from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .dialect import TRAINNER_TYPES
from .errors import DalisrError

_INT, _BOOL, _STR, _LIST = (int,), (bool,), (str,), (list, tuple)
_NONE = (type(None),)
_NUM = (int, float)

# key -> accepted types, as traiNNer-redux's DatasetOptions declares them (bool is never an int, no coercion)
SCHEMA: dict[str, tuple[type, ...]] = {
    "name": _STR, "type": _STR, "io_backend": (dict,), "num_worker_per_gpu": _INT + _NONE,
    "batch_size_per_gpu": _INT + _NONE, "accum_iter": _INT, "use_hflip": _BOOL, "use_rot": _BOOL,
    "mean": _LIST + _NONE, "std": _LIST + _NONE, "gt_size": _INT + _NONE, "lq_size": _INT + _NONE,
    "color": _STR + _NONE, "phase": _STR + _NONE, "scale": _INT + _NONE, "dataset_enlarge_ratio": _STR + _INT,
    "prefetch_mode": _STR + _NONE, "pin_memory": _BOOL, "persistent_workers": _BOOL, "num_prefetch_queue": _INT,
    "prefetch_factor": _INT + _NONE, "clip_size": _INT + _NONE, "dataroot_gt": _STR + _LIST + _NONE,
    "dataroot_lq": _STR + _LIST + _NONE, "lq_resize_mode": _STR + _NONE, "meta_info": _STR + _NONE,
    "filename_tmpl": _STR,
    **{f"{k}{s}": t for s in ("", "2") for k, t in (
        ("blur_kernel_size", _INT), ("kernel_list", _LIST), ("kernel_prob", _LIST), ("kernel_range", _LIST),
        ("sinc_prob", _NUM), ("blur_sigma", _LIST), ("betag_range", _LIST), ("betap_range", _LIST))},
    "final_sinc_prob": _NUM, "final_kernel_range": _LIST,
    # dalisr's own (removed before traiNNer-redux sees the file under `dalisr run`)
    "dalisr": _BOOL, "degradation": (dict, bool), "last_batch": _STR, "on_error": _STR, "py_start_method": _STR,
    "num_threads": _INT, "bit_depth": _STR + _INT,
}
#: the keys of SCHEMA that are dalisr's, not traiNNer-redux's
DALISR_KEYS = ("dalisr", "degradation", "last_batch", "on_error", "py_start_method", "num_threads", "bit_depth")
#: its defaults, where the schema has one that matters to a loader
DEFAULTS: dict[str, Any] = {
    "io_backend": {"type": "disk"}, "use_hflip": True, "use_rot": True, "dataset_enlarge_ratio": "auto",
    "filename_tmpl": "{}", "accum_iter": 1,
}
#: its kernel options' defaults (the GT-only types that draw kernels)
KERNEL_DEFAULTS: dict[str, Any] = {
    "kernel_list": ["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"],
    "kernel_prob": [0.45, 0.25, 0.12, 0.03, 0.12, 0.03], "kernel_range": [5, 17], "sinc_prob": 0.0,
    "blur_sigma": [0.2, 2.0], "betag_range": [0.5, 4.0], "betap_range": [1.0, 2.0],
    "kernel_list2": ["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"],
    "kernel_prob2": [0.45, 0.25, 0.12, 0.03, 0.12, 0.03], "kernel_range2": [5, 17], "sinc_prob2": 0.0,
    "blur_sigma2": [0.2, 1.0], "betag_range2": [0.5, 4.0], "betap_range2": [1.0, 2.0],
    "final_sinc_prob": 0.0, "final_kernel_range": [5, 17],
}
#: the folders each type reads
ROOTS = {"pairedimagedataset": ("dataroot_gt", "dataroot_lq"), "realesrgandataset": ("dataroot_gt",),
         "singlegtdataset": ("dataroot_gt",), "singleimagedataset": ("dataroot_lq",),
         "singlelqdataset": ("dataroot_lq",), "pairedvideodataset": ("dataroot_gt", "dataroot_lq")}
LQ_RESIZE_MODES = ("bilinear", "bicubic", "nearest-exact", "lanczos", "area")
AUTO_SAMPLES = 2000  # `dataset_enlarge_ratio: auto` makes an epoch at least this many batches' worth of samples


def canonical_type(name: str, where: str) -> str:
    """traiNNer-redux's registry key of ``name`` (its lookup lower-cases; ``_traiNNer`` suffixes are its own)."""
    key = name.lower()
    if key not in TRAINNER_TYPES:
        raise DalisrError(f"{where}: '{name}' is no dataset type traiNNer-redux registers. Fix: use one of "
                          f"{', '.join(TRAINNER_TYPES)}")
    return key


def folders(value: Any) -> list[str]:
    """A ``dataroot_*`` value as traiNNer-redux reads it: a folder or a list of folders, ``~`` expanded."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [os.path.expanduser(str(v)) for v in items]


def trainner_options(section: Mapping, origin: str, phase: str, scale: int | None) -> dict[str, Any]:
    """A traiNNer-redux dataset section, checked, with its rules applied (see the module's docstring).

    ``phase``: from the section's name (``train``, ``val``...); ``scale``: the file's top-level ``scale``.
    """
    opt = dict(section)
    for key, value in opt.items():
        accepted = SCHEMA.get(key)
        if accepted is None:
            raise DalisrError(f"unknown key '{key}' in {origin}: traiNNer-redux's schema refuses it too. "
                              f"Fix: remove it or correct its spelling")
        if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
            names = " or ".join(t.__name__ for t in accepted)
            raise DalisrError(f"'{key}' in {origin} must be {names} (traiNNer-redux does not convert types), "
                              f"got {type(value).__name__} {value!r}")
    for key in ("name", "type"):
        if opt.get(key) is None:
            raise DalisrError(f"missing key '{key}' in {origin} (traiNNer-redux requires it)")
    where = f"'type' in {origin}"
    opt["type"] = canonical_type(opt["type"], where)
    for key, value in {**DEFAULTS, **(KERNEL_DEFAULTS if opt["type"] == "realesrgandataset" else {})}.items():
        opt.setdefault(key, value)
    opt["phase"], opt["scale"] = phase, opt.get("scale") or scale
    if opt["scale"] is None:
        raise DalisrError(f"missing key 'scale' at the top level of {origin} (traiNNer-redux requires it)")
    for key in ROOTS.get(opt["type"], ()):
        opt[key] = folders(opt.get(key))
        if not opt[key]:
            raise DalisrError(f"missing key '{key}' in {origin} (needed by {opt['type']})")
    if phase == "train":
        _sizes(opt, origin)
    _check_values(opt, origin)
    return opt


def _sizes(opt: dict[str, Any], origin: str) -> None:
    """traiNNer-redux's rule: exactly one of gt_size and lq_size; gt = lq * scale, lq = gt // scale."""
    gt, lq = opt.get("gt_size"), opt.get("lq_size")
    if (gt is None) == (lq is None):
        raise DalisrError(f"{origin}: exactly one of 'gt_size' and 'lq_size' must be set in a train section "
                          f"(traiNNer-redux's rule), got gt_size {gt!r} and lq_size {lq!r}. Fix: keep one")
    if gt is None:
        opt["gt_size"] = lq * opt["scale"]
    else:
        opt["lq_size"] = gt // opt["scale"]


def _check_values(opt: dict[str, Any], origin: str) -> None:
    ratio = opt["dataset_enlarge_ratio"]
    if ratio != "auto" and (isinstance(ratio, str) or ratio < 1):
        raise DalisrError(f"'dataset_enlarge_ratio' in {origin} must be auto or a positive integer, got {ratio!r}")
    if opt.get("color") not in (None, "y"):
        raise DalisrError(f"'color' in {origin} is {opt['color']!r}. Fix: use y or ~")
    if opt.get("lq_resize_mode") not in (None, *LQ_RESIZE_MODES):
        raise DalisrError(f"'lq_resize_mode' in {origin} is {opt['lq_resize_mode']!r}. Fix: use one of "
                          f"{', '.join(LQ_RESIZE_MODES)}")
    for key in ("gt_size", "lq_size", "batch_size_per_gpu", "accum_iter", "scale"):
        if opt.get(key) is not None and opt[key] < 1:
            raise DalisrError(f"'{key}' in {origin} must be at least 1, got {opt[key]}")
    if opt["type"] == "realesrgandataset":
        for key in ("kernel_range", "kernel_range2", "final_kernel_range"):
            kernel_sizes(opt, key, origin)


def kernel_sizes(opt: Mapping, key: str, origin: str) -> tuple[int, ...]:
    """traiNNer-redux's kernel sizes from ``[low, high]``: low, low + 2, ... up to high (odd, 3..21)."""
    value = opt.get(key, KERNEL_DEFAULTS[key])
    ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not ok or value[0] % 2 == 0 or not 3 <= value[0] <= value[1] <= 21:
        raise DalisrError(f"'{key}' in {origin} must be [low, high], odd low, 3 <= low <= high <= 21 (kernels are "
                          f"padded to 21 x 21), got {value!r}")
    return tuple(range(value[0], value[1] + 1, 2))


def enlarge_ratio(opt: Mapping, samples: int, batch_size: int) -> int:
    """``dataset_enlarge_ratio`` as traiNNer-redux settles it: ``auto`` is ``max(2000 * batch // samples, 1)``."""
    ratio = opt.get("dataset_enlarge_ratio", "auto")
    if ratio == "auto":
        return max(AUTO_SAMPLES * batch_size // max(samples, 1), 1)
    return int(ratio)


def strip_dalisr_keys(options: Mapping) -> dict[str, Any]:
    """A whole options file without dalisr's keys (top-level ``dalisr``, and in each dataset section
    :data:`DALISR_KEYS`), for traiNNer-redux's strict schema; the input is left as it is."""
    out = {k: v for k, v in options.items() if k != "dalisr"}
    datasets = options.get("datasets")
    if isinstance(datasets, Mapping):
        out["datasets"] = {name: ({k: v for k, v in sec.items() if k not in DALISR_KEYS}
                                  if isinstance(sec, Mapping) else sec) for name, sec in datasets.items()}
    return out
