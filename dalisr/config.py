"""Read and check BasicSR-style dataset options (a dict, a dataset YAML, or a whole options file)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .dialect import TRAINNER, detect
from .errors import DalisrError
from .storage import BACKENDS
from .trainner_config import trainner_options

log = logging.getLogger(__name__)

_NUM = (int, float)
_OPT_STR = (str, type(None))

# key -> accepted Python types (bool is never taken for int)
SCHEMA: dict[str, tuple[type, ...]] = {
    "name": (str,), "type": (str,), "phase": (str,),
    "dataroot_gt": (str,), "dataroot_lq": (str,), "dataroot_flow": _OPT_STR,
    "meta_info_file": _OPT_STR, "meta_info": _OPT_STR, "filename_tmpl": (str,), "io_backend": (dict,),
    "gt_size": (int,), "scale": (int,), "use_hflip": (bool,), "use_rot": (bool,), "use_flip": (bool,),
    "mean": (list, tuple, type(None)), "std": (list, tuple, type(None)), "color": _OPT_STR,
    "batch_size_per_gpu": (int,), "num_worker_per_gpu": (int,), "use_shuffle": (bool,),
    "dataset_enlarge_ratio": (int,), "prefetch_mode": _OPT_STR, "num_prefetch_queue": (int,),
    "pin_memory": (bool,), "persistent_workers": (bool,),
    # video
    "num_frame": (int,), "interval_list": (list, tuple), "random_reverse": (bool,),
    "val_partition": (str,), "test_mode": (bool,), "cache_data": (bool,), "padding": (str,),
    "flip_sequence": (bool,),
    # Real-ESRGAN's GT dataset (meta_info above: its list of GT paths; the kernels: dalisr/degrade/kernels.py)
    "blur_kernel_size": (int,), "blur_kernel_size2": (int,),
    "kernel_list": (list, tuple), "kernel_prob": (list, tuple), "blur_sigma": (list, tuple),
    "betag_range": (list, tuple), "betap_range": (list, tuple), "sinc_prob": _NUM,
    "kernel_list2": (list, tuple), "kernel_prob2": (list, tuple), "blur_sigma2": (list, tuple),
    "betag_range2": (list, tuple), "betap_range2": (list, tuple), "sinc_prob2": _NUM, "final_sinc_prob": _NUM,
    # dalisr's own
    "degradation": (dict, bool),  # Real-ESRGAN's degradation in the loader (dalisr/degrade/options.py)
    "last_batch": (str,), "on_error": (str,), "py_start_method": (str,), "num_threads": (int,),
    # `dalisr train`: false leaves the section to BasicSR's own loader (dalisr/integrations/basicsr/launcher.py)
    "dalisr": (bool,),
}

#: GT-only types whose LQ the graph makes by downscaling (HAT's, HMA's and dalisr's names for one semantics):
#: gt_size must be a multiple of scale in every phase
BICUBIC_FROM_GT = ("ImageNetPairedDataset", "PairedImageNetDataset", "BicubicFromGTDataset")

REQUIRED: dict[str, tuple[str, ...]] = {
    "PairedImageDataset": ("dataroot_gt", "dataroot_lq", "io_backend", "scale"),
    "REDSDataset": ("dataroot_gt", "dataroot_lq", "meta_info_file", "io_backend", "scale", "num_frame"),
    "Vimeo90KDataset": ("dataroot_gt", "dataroot_lq", "meta_info_file", "io_backend", "scale", "num_frame"),
    "FFHQDataset": ("dataroot_gt", "io_backend"),
    "RealESRGANPairedDataset": ("dataroot_gt", "dataroot_lq", "io_backend", "scale"),
    "REDSRecurrentDataset": ("dataroot_gt", "dataroot_lq", "meta_info_file", "io_backend", "scale", "num_frame"),
    "Vimeo90KRecurrentDataset": ("dataroot_gt", "dataroot_lq", "meta_info_file", "io_backend", "scale"),
    "SingleImageDataset": ("dataroot_lq", "io_backend"),
    "VideoTestDataset": ("dataroot_gt", "dataroot_lq", "io_backend", "scale", "num_frame"),
    "VideoRecurrentTestDataset": ("dataroot_gt", "dataroot_lq", "io_backend", "scale"),
    "RealESRGANDataset": ("dataroot_gt", "io_backend", "kernel_list", "kernel_prob", "blur_sigma", "betag_range",
                          "betap_range", "sinc_prob", "kernel_list2", "kernel_prob2", "blur_sigma2", "betag_range2",
                          "betap_range2", "sinc_prob2", "final_sinc_prob"),
    **dict.fromkeys(BICUBIC_FROM_GT, ("dataroot_gt", "io_backend", "scale")),
}
# needed only to cut training patches (FFHQ trains on whole faces: BasicSR does not crop them)
REQUIRED_FOR_TRAIN: dict[str, tuple[str, ...]] = {
    "PairedImageDataset": ("gt_size",),
    "REDSDataset": ("gt_size",),
    "Vimeo90KDataset": ("gt_size",),
    "FFHQDataset": (),
    "RealESRGANPairedDataset": ("gt_size",),
    "REDSRecurrentDataset": ("gt_size",),
    "Vimeo90KRecurrentDataset": ("gt_size",),
    "SingleImageDataset": (),  # BasicSR never crops it: whole LQ images
    "VideoTestDataset": (),
    "VideoRecurrentTestDataset": (),
    "RealESRGANDataset": (),  # its crop is the fixed 400 crop-or-pad; gt_size is the model's
    **dict.fromkeys(BICUBIC_FROM_GT, ("gt_size",)),
}

# types that read every frame whatever num_frame says (BasicSR's options write `num_frame: -1` for them)
NUM_FRAME_UNUSED = ("Vimeo90KRecurrentDataset", "VideoRecurrentTestDataset")
CHOICES = {
    "phase": ("train", "val", "test"),
    "color": (None, "y"),
    "prefetch_mode": (None, "cpu", "cuda"),
    "last_batch": ("drop", "pad"),
    "on_error": ("raise", "skip"),
    "py_start_method": ("fork", "spawn"),
    "padding": ("replicate", "reflection", "reflection_circle", "circle"),
}


@dataclass
class DatasetConfig:
    """Checked dataset options plus where they came from, for error messages."""

    opt: dict[str, Any]
    origin: str = "option dict"
    warnings: list[str] = field(default_factory=list)
    #: the options file's top-level keys (not ``datasets``) when a whole options file was given, else empty
    top: dict[str, Any] = field(default_factory=dict)
    #: whose option schema and semantics: ``basicsr`` or ``trainner`` (traiNNer-redux: :mod:`dalisr.dialect`)
    dialect: str = "basicsr"

    def __getitem__(self, key: str) -> Any:
        return self.opt[key]

    def get(self, key: str, default: Any = None) -> Any:
        value = self.opt.get(key, default)
        return default if value is None and default is not None else value

    def where(self, key: str) -> str:
        return f"'{key}' in {self.origin}"

    @property
    def type(self) -> str:
        return self.opt["type"]

    @property
    def phase(self) -> str:
        return self.opt.get("phase") or "train"

    @property
    def io_backend(self) -> dict:
        return self.opt["io_backend"]


def _read_yaml(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise DalisrError(f"options file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise DalisrError(f"options file {path} is not valid YAML: {exc}") from None


def _pick_section(full: Mapping, section: str | None, origin: str) -> tuple[dict, str, str | None]:
    datasets = full.get("datasets")
    if not isinstance(datasets, Mapping) or not datasets:
        raise DalisrError(f"'datasets' in {origin} is not a mapping of dataset sections")
    name = section or ("train" if "train" in datasets else next(iter(datasets)))
    if name not in datasets:
        raise DalisrError(
            f"section 'datasets.{name}' not found in {origin}. Fix: choose one of {', '.join(map(str, datasets))}"
        )
    # BasicSR sets phase from the section name: train, val, val_1, test_2 ...
    phase = str(name).split("_")[0]
    return dict(datasets[name]), f"{origin} (datasets.{name})", phase if phase in CHOICES["phase"] else None


def load_dataset_options(opt: Mapping | str | os.PathLike, section: str | None = None, *,
                         origin: str | None = None, dialect: str | None = None) -> DatasetConfig:
    """Check a BasicSR dataset option dict, or a YAML path holding one or a whole options file.

    A whole options file (one with ``datasets:``) gives ``datasets.train`` unless
    ``section`` names another (``val``, ``val_1`` ...). Missing required keys,
    wrong types, bad choices and unknown backends raise DalisrError naming the
    key and the file; unknown keys are logged once each. ``origin`` names where an
    option dict came from in those messages (default: "option dict"). ``dialect``
    (``basicsr``, ``trainner``; default: recognised, :func:`dalisr.dialect.detect`)
    says whose schema and semantics the options follow: traiNNer-redux's are
    checked as its schema checks them (:mod:`dalisr.trainner_config`).
    """
    if isinstance(opt, (str, os.PathLike)):
        path = os.fspath(opt)
        origin = f"options file {path}"
        data = _read_yaml(path)
    elif isinstance(opt, Mapping):
        origin, data = origin or "option dict", opt
    else:
        raise DalisrError(f"dataset options must be a dict or a YAML path, not {type(opt).__name__}")
    if not isinstance(data, Mapping):
        raise DalisrError(f"{origin} does not hold a mapping of options")
    whole = "datasets" in data
    kind, why = detect(data if whole else {}, None if whole else data, explicit=dialect)
    implied_phase = None
    top: dict[str, Any] = {}
    if whole:
        top = {k: v for k, v in data.items() if k != "datasets"}
        data, origin, implied_phase = _pick_section(data, section, origin)
    else:
        data = dict(data)
    if kind == TRAINNER:
        log.info("%s: read as a traiNNer-redux option file (%s)", origin, why)
        phase = implied_phase or data.get("phase") or "train"
        scale = top.get("scale") if isinstance(top.get("scale"), int) else None
        return DatasetConfig(trainner_options(data, origin, phase, scale), origin, top=top, dialect=TRAINNER)
    if implied_phase and "phase" not in data:
        data["phase"] = implied_phase
    if "scale" not in data and isinstance(top.get("scale"), int):
        data["scale"] = top["scale"]  # BasicSR copies the top-level scale into each dataset
    cfg = DatasetConfig(data, origin, top=top)
    _check(cfg)
    return cfg


def _check(cfg: DatasetConfig) -> None:
    opt, origin = cfg.opt, cfg.origin
    dtype = opt.get("type")
    if dtype is None:
        raise DalisrError(f"missing key 'type' in {origin}. Fix: set type: to one of {', '.join(REQUIRED)}")
    if dtype not in REQUIRED:
        raise DalisrError(f"{cfg.where('type')}: '{dtype}' is not supported. Fix: use one of {', '.join(REQUIRED)}")
    for key, value in opt.items():
        accepted = SCHEMA.get(key)
        if accepted is None:
            msg = f"unknown key '{key}' in {origin} is ignored"
            cfg.warnings.append(msg)
            log.warning(msg)
            continue
        if value is None and type(None) not in accepted and key not in ("mean", "std", "color"):
            continue  # BasicSR writes `~` for "not set"
        ok = isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted)
        if not ok:
            names = " or ".join(t.__name__ for t in accepted if t is not type(None))
            raise DalisrError(f"{cfg.where(key)} must be {names}, got {type(value).__name__} {value!r}")
    for key, choices in CHOICES.items():
        if key in opt and opt[key] not in choices:
            shown = ", ".join("~" if c is None else c for c in choices)
            raise DalisrError(f"{cfg.where(key)} is '{opt[key]}'. Fix: use one of {shown}")
    required = REQUIRED[dtype] + (REQUIRED_FOR_TRAIN.get(dtype, ()) if cfg.phase == "train" else ())
    for key in required:
        if opt.get(key) is None:
            raise DalisrError(f"missing key '{key}' in {origin} (needed by {dtype}, phase {cfg.phase})")
    _check_numbers(cfg)
    _check_backend(cfg)


def _check_numbers(cfg: DatasetConfig) -> None:
    for key in ("gt_size", "scale", "batch_size_per_gpu", "dataset_enlarge_ratio", "num_frame"):
        if key == "num_frame" and cfg.type in NUM_FRAME_UNUSED:
            continue
        value = cfg.opt.get(key)
        if value is not None and value < 1:
            raise DalisrError(f"{cfg.where(key)} must be at least 1, got {value}")
    nw = cfg.opt.get("num_worker_per_gpu")
    if nw is not None and nw < 0:
        raise DalisrError(f"{cfg.where('num_worker_per_gpu')} must be 0 or more, got {nw}")
    for key in ("mean", "std"):
        value = cfg.opt.get(key)
        if value is not None and (len(value) not in (1, 3) or not all(isinstance(v, _NUM) for v in value)):
            raise DalisrError(f"{cfg.where(key)} must be a list of 1 or 3 numbers, got {value!r}")
    std = cfg.opt.get("std")
    if std is not None and any(v == 0 for v in std):
        raise DalisrError(f"{cfg.where('std')} has a zero: division by zero. Fix: use positive values")
    gt_size, scale = cfg.opt.get("gt_size"), cfg.opt.get("scale")
    if (cfg.phase == "train" or cfg.type in BICUBIC_FROM_GT) and gt_size and scale and gt_size % scale:
        raise DalisrError(
            f"{cfg.where('gt_size')} is {gt_size}, not a multiple of scale {scale}: the LQ patch would not align. "
            f"Fix: use a multiple of {scale}"
        )


def _check_backend(cfg: DatasetConfig) -> None:
    backend = cfg.opt["io_backend"]
    kind = backend.get("type")
    if kind not in BACKENDS:
        raise DalisrError(
            f"{cfg.where('io_backend.type')} is '{kind}'. Fix: use one of {', '.join(BACKENDS)}"
        )
    if kind == "memcached":
        if not backend.get("servers") and not backend.get("server_list_cfg"):
            raise DalisrError(
                f"{cfg.where('io_backend')}: memcached needs 'servers' (list of host:port) "
                "or 'server_list_cfg' (a file)"
            )
        ignored = [k for k in ("client_cfg", "sys_path") if k in backend]
        if ignored:
            msg = (f"io_backend keys {', '.join(ignored)} in {cfg.origin} are BasicSR's memcached client "
                   "settings, ignored by dalisr")
            cfg.warnings.append(msg)
            log.warning(msg)
    for key in ("dataroot_gt", "dataroot_lq"):
        root = cfg.opt.get(key)
        if root and kind == "lmdb" and not str(root).rstrip("/").endswith(".lmdb"):
            raise DalisrError(
                f"{cfg.where(key)} is '{root}' but io_backend.type is lmdb, which needs a folder ending in .lmdb "
                "(BasicSR's rule). Fix: point it at the .lmdb folder or set io_backend.type: disk"
            )


def is_options_file(path: str) -> bool:
    """Whether ``path`` names a YAML options file (rather than a data folder or file)."""
    return path.endswith((".yml", ".yaml")) and os.path.isfile(path)


def data_roots(config: str, section: str | None = None) -> list[str]:
    """The ``dataroot_*`` folders of a dataset config (a traiNNer-redux file's lists flattened), for warming what
    it reads; relative roots are relative to where training starts, as in BasicSR."""
    cfg = load_dataset_options(config, section=section)
    if cfg.io_backend.get("type", "disk") == "memcached":
        raise DalisrError(f"{cfg.origin} reads from memcached: there is no local file to warm. "
                          "Fix: warm the cluster with `dalisr memcached-load`, or pass the data folders")
    roots = [cfg.opt[k] for k in ("dataroot_gt", "dataroot_lq") if cfg.opt.get(k)]
    return [r for root in roots for r in (root if isinstance(root, list) else [root])]
