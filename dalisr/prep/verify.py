"""``verify``: every image decodes, matches its meta info, and GT is exactly scale x LQ.

Sources are image folders (every image in and below it; its key is the path
without extension) or LMDBs (the keys of ``meta_info.txt``), or the data roots
of an options file's dataset section (:func:`option_sources`: a traiNNer-redux
file's folder pairs, checked with its rules: pairs by stem, colour profiles
other than sRGB reported). Problems are collected, not raised, so one run
reports all of them; only an unusable input (missing or empty folder) raises.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import DalisrError
from ..formats.codec import image_shape
from ..formats.icc import embedded_profile, is_srgb, profile_description
from ..formats.meta_info import RAW, MetaEntry, entries_codec, format_shape, read_meta_info
from ..formats.raw import raw_pixels
from .files import list_images, require_folder
from .meta import is_lmdb, lmdb_env
from .pool import ordered_map

log = logging.getLogger(__name__)


@dataclass
class Source:
    """What to check in one folder or LMDB: key -> (file name, expected shape or None)."""

    path: str
    kind: str  # "lmdb" or "disk"
    entries: dict[str, tuple[str, tuple[int, ...] | None]]
    problems: list[str] = field(default_factory=list)
    #: keys listed by the meta info but absent from the store (reported already)
    missing: set[str] = field(default_factory=set)
    #: how the values are stored (``png``: any encoded image; ``raw``: dalisr's raw codec), from the meta info
    codec: str = "png"
    #: report embedded colour profiles other than sRGB (traiNNer-redux's semantics: it converts them, dalisr not)
    srgb_only: bool = False

    def where(self, key: str) -> str:
        if self.kind == "lmdb":
            return f"key '{key}' in {self.path}"
        return os.path.join(self.path, self.entries[key][0])


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _entries(meta: list[MetaEntry], source: str, problems: list[str]) -> dict[str, tuple[str, tuple | None]]:
    entries: dict[str, tuple[str, tuple | None]] = {}
    for entry in meta:
        if entry.key in entries:
            problems.append(f"{source}: '{entry.name}' is listed twice in the meta info")
        entries[entry.key] = (entry.name, entry.shape)
    return entries


def open_source(path: str, meta_info: str | None = None) -> Source:
    """A folder or LMDB to check, with the shapes its meta info promises."""
    require_folder(path, "input")
    problems: list[str] = []
    if is_lmdb(path):
        meta_path = meta_info or os.path.join(path, "meta_info.txt")
        if not os.path.isfile(meta_path):
            raise DalisrError(f"{path} has no meta_info.txt, so its keys are unknown. "
                              f"Fix: write one with `dalisr meta-info {path}`")
        meta = read_meta_info(meta_path)
        entries = _entries(meta, meta_path, problems)
        if not entries:
            raise DalisrError(f"{meta_path} lists no image")
        source = Source(path, "lmdb", entries, problems, codec=entries_codec(meta, meta_path))
        stored = set(_lmdb_keys(path))
        for key in entries:
            if key not in stored:
                problems.append(f"key '{key}' is in {meta_path} but not in the LMDB {path}. Fix: re-create the LMDB")
                source.missing.add(key)
        extra = sorted(stored - set(entries))
        if extra:
            problems.append(f"{len(extra)} keys of {path} are not in {meta_path} (first '{extra[0]}'): "
                            "a loader never reads them. Fix: re-create the LMDB or its meta_info.txt")
        return source
    files = list_images(path, recursive=True)
    entries = {}
    for rel in files:
        key = os.path.splitext(rel)[0]
        if key in entries:
            problems.append(f"{path}: {entries[key][0]} and {rel} have the same name (key '{key}')")
        entries[key] = (rel, None)
    if meta_info:
        listed = _entries(read_meta_info(meta_info), meta_info, problems)
        for key, (name, shape) in listed.items():
            if key not in entries:
                problems.append(f"{name} is in {meta_info} but not in {path}")
            else:
                entries[key] = (entries[key][0], shape)
    return Source(path, "disk", entries, problems)


def _lmdb_keys(path: str) -> Iterator[str]:
    with lmdb_env(path).begin() as txn:
        for raw in txn.cursor().iternext(keys=True, values=False):
            yield raw.decode("ascii", errors="replace")


def _decode(job: tuple[str, bytes | None, str, bool]) -> tuple[tuple[int, int, int] | None, str | None]:
    """The (h, w, c) of an image (a file path, or bytes read already, in ``codec``), None if it does not decode;
    and with ``srgb_only`` the name of a colour profile it embeds other than sRGB, else None."""
    path, data, codec, srgb_only = job
    if data is None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None, None
    if codec == RAW:  # the header gives the shape, the length check catches truncation
        try:
            return image_shape(raw_pixels(data)), None
        except DalisrError:
            return None, None
    profile = embedded_profile(data) if srgb_only and data else None
    foreign = None if profile is None or is_srgb(profile) else (profile_description(profile) or "unnamed")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    return (None if img is None else image_shape(img)), foreign


def _jobs(source: Source) -> Iterator[tuple[str, bytes | None, str, bool]]:
    if source.kind == "disk":
        for rel, _ in source.entries.values():
            yield os.path.join(source.path, rel), None, source.codec, source.srgb_only
        return
    with lmdb_env(source.path).begin() as txn:
        for key in source.entries:
            yield key, txn.get(key.encode("ascii", errors="replace")), source.codec, source.srgb_only


def _check(source: Source, report: VerifyReport, workers: int,
           progress: Callable[[int], None] | None) -> dict[str, tuple[int, int, int]]:
    report.problems.extend(source.problems)
    shapes: dict[str, tuple[int, int, int]] = {}
    for key, (shape, foreign) in zip(source.entries, ordered_map(_decode, _jobs(source), workers)):
        report.checked += 1
        if progress:
            progress(1)
        expected = source.entries[key][1]
        if key in source.missing:
            continue
        if foreign is not None:
            report.problems.append(f"{source.where(key)} embeds the colour profile '{foreign}', not sRGB: "
                                   "traiNNer-redux converts it as it reads, dalisr does not. Fix: convert the file "
                                   "to sRGB once (e.g. `vips icc_transform IN OUT srgb`)")
        if shape is None:
            report.problems.append(f"{source.where(key)} does not decode as an image (corrupt or truncated). "
                                   "Fix: re-create or delete it")
            continue
        shapes[key] = shape
        if expected is not None and tuple(expected) != shape:
            report.problems.append(f"{source.where(key)} is {format_shape(shape)} but the meta info says "
                                   f"{format_shape(expected)}. Fix: re-create the meta info (dalisr meta-info)")
    return shapes


def count_images(source: Source) -> int:
    return len(source.entries)


def verify(gt: Source, lq: Source | None = None, scale: int | None = None, *, workers: int = 1,
           progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Check ``gt`` (and ``lq`` against it: same keys, GT exactly ``scale`` x LQ)."""
    report = VerifyReport()
    gt_shapes = _check(gt, report, workers, progress)
    if lq is None:
        return report
    if scale is None or scale < 1:
        raise DalisrError("--paired-with needs --scale (e.g. 4), the factor between GT and LQ")
    lq_shapes = _check(lq, report, workers, progress)
    only_gt = [k for k in gt.entries if k not in lq.entries]
    only_lq = [k for k in lq.entries if k not in gt.entries]
    for keys, here, there in ((only_gt, gt, lq), (only_lq, lq, gt)):
        if keys:
            report.problems.append(f"{len(keys)} keys of {here.path} have no pair in {there.path} "
                                   f"(first '{keys[0]}'). Fix: the two sides must hold the same names")
    for key, (h, w, c) in gt_shapes.items():
        if key not in lq_shapes:
            continue
        lh, lw, lc = lq_shapes[key]
        if (h, w) != (lh * scale, lw * scale):
            report.problems.append(
                f"'{key}': Scale mismatches. GT ({h}, {w}) is not {scale}x multiplication of LQ ({lh}, {lw}) "
                f"[{gt.where(key)} vs {lq.where(key)}]. Fix: re-create the LQ image or crop the GT")
        elif c != lc:
            report.problems.append(f"'{key}': GT has {c} channels, LQ {lc} [{gt.where(key)} vs {lq.where(key)}]")
    return report


def option_sources(options: str, section: str | None = None) -> list[tuple[Source, Source | None, int | None]]:
    """(GT, LQ or None, scale) to check for a dataset section of an options file: each GT / LQ folder pair of
    a traiNNer-redux file (checked with its rules), or the section's dataroot_gt / dataroot_lq."""
    from ..config import load_dataset_options
    from ..dialect import TRAINNER

    cfg = load_dataset_options(options, section=section)
    trainner = cfg.dialect == TRAINNER

    def roots(key: str) -> list[str]:
        value = cfg.get(key)
        return [] if not value else (list(value) if trainner else [value])

    gts, lqs = roots("dataroot_gt"), roots("dataroot_lq")
    if cfg.io_backend.get("type", "disk") == "memcached":
        raise DalisrError(f"{cfg.origin} reads from memcached. Fix: verify the folders or LMDBs it was loaded from")
    scale = cfg.get("scale") if gts and lqs else None
    out = []
    for i, first in enumerate(gts or lqs):
        gt = open_source(first)
        lq = open_source(lqs[i]) if gts and i < len(lqs) else None
        for src in (gt, lq):
            if src is not None:
                src.srgb_only = trainner
        out.append((gt, lq, scale))
    return out
