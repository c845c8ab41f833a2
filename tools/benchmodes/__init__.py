"""The modes of tools/bench.py: for every mode name its label and the family that runs it.

A family is a module of this package with ``run(mode, args) -> dict``:
``paired`` (the decode limit, BasicSR's paired LMDB path, dalisr on the same
LMDBs), ``imagenet`` (HAT's ImageNet pretraining path), ``degrade``
(Real-ESRGAN's degradation), ``trainner`` (traiNNer-redux's PairedImageDataset from its checkout vs dalisr
in its dialect); ``common`` holds what they share. Families are
imported when a mode runs, so reading the registry (tools/gpu_check.sh's mode
filter) imports nothing heavy. tools/bench.py is only the driver.
"""

from __future__ import annotations

import argparse
import importlib

#: mode -> (family, label); the labels are the rows of tools/bench.py's table
MODES: dict[str, tuple[str, str]] = {
    "limit": ("paired", "limit: cv2.imdecode only"),
    "baseline": ("paired", "baseline: BasicSR path"),
    "dalisr-png": ("paired", "dalisr PNG LMDB"),
    "dalisr-png-seek": ("paired", "dalisr png-seek LMDB"),
    "dalisr-png-dali": ("paired", "dalisr PNG, DALI ROI decode"),
    "dalisr-raw": ("paired", "dalisr raw LMDB"),
    "dalisr-jp2": ("paired", "dalisr JPEG 2000 LMDB"),
    "dalisr-png-gpu": ("paired", "dalisr PNG LMDB (gpu)"),
    "dalisr-png-seek-gpu": ("paired", "dalisr png-seek LMDB (gpu)"),
    "dalisr-png-dali-gpu": ("paired", "dalisr PNG, DALI ROI (gpu)"),
    "dalisr-raw-gpu": ("paired", "dalisr raw LMDB (gpu)"),
    "dalisr-jp2-gpu": ("paired", "dalisr JPEG 2000 LMDB (gpu)"),
    "degrade-basicsr": ("degrade", "Real-ESRGAN feed_data, torch CPU"),
    "degrade-dalisr": ("degrade", "dalisr degradation, noise auto"),
    "degrade-dalisr-graph": ("degrade", "dalisr degradation, noise in graph"),
    "realesrgan-dalisr": ("degrade", "dalisr RealESRGANDataset, no degradation"),
    "degrade-basicsr-gpu": ("degrade", "Real-ESRGAN feed_data (gpu)"),
    "degrade-dalisr-gpu": ("degrade", "dalisr degradation (gpu), noise auto"),
    "degrade-dalisr-source-gpu": ("degrade", "dalisr degradation (gpu), noise in source"),
    "realesrgan-dalisr-gpu": ("degrade", "dalisr RealESRGANDataset, no degradation (gpu)"),
    "imagenet-hat": ("imagenet", "HAT ImageNetPairedDataset"),
    "imagenet-dalisr": ("imagenet", "dalisr ImageNetPairedDataset"),
    "imagenet-dalisr-gpu": ("imagenet", "dalisr ImageNetPaired (gpu)"),
    "trainner-paired": ("trainner", "traiNNer PairedImageDataset"),
    "trainner-dalisr": ("trainner", "dalisr traiNNer PNG disk"),
    "trainner-dalisr-seek": ("trainner", "dalisr traiNNer png-seek LMDB"),
    "trainner-paired-16": ("trainner", "traiNNer PairedImageDataset 16-bit"),
    "trainner-dalisr-16": ("trainner", "dalisr traiNNer PNG disk 16-bit"),
    "trainner-dalisr-seek-16": ("trainner", "dalisr traiNNer png-seek LMDB 16-bit"),
    "trainner-dalisr-gpu": ("trainner", "dalisr traiNNer PNG disk (gpu)"),
    "trainner-dalisr-seek-gpu": ("trainner", "dalisr traiNNer png-seek LMDB (gpu)"),
    "trainner-dalisr-16-gpu": ("trainner", "dalisr traiNNer PNG disk 16-bit (gpu)"),
    "trainner-dalisr-seek-16-gpu": ("trainner", "dalisr traiNNer png-seek 16-bit (gpu)"),
}
LABELS: dict[str, str] = {mode: label for mode, (_, label) in MODES.items()}


def family(mode: str) -> str:
    """The family module's name (``paired``, ``imagenet``, ``degrade``, ``trainner``) that runs ``mode``."""
    return MODES[mode][0]


def run(mode: str, args: argparse.Namespace) -> dict:
    """Run one mode in this process with tools/bench.py's parsed options; its figures as a JSON-able dict."""
    if mode not in MODES:
        raise SystemExit(f"unknown mode {mode}; choose from {', '.join(MODES)}")
    return importlib.import_module(f"{__name__}.{family(mode)}").run(mode, args)
