"""Convert a BasicSR LMDB between PNG values, seekable PNG, dalisr's zero-decode raw codec and lossless JPEG 2000.

``raw`` values are the decoded pixels (``cv2.IMREAD_UNCHANGED``) behind a small
header (:mod:`dalisr.formats.raw`): a loader crops them straight from the
memory map, without decoding, at the price of 3 to 10 times the disk and page
cache of PNG. ``jp2`` values (:mod:`dalisr.formats.jp2`) are lossless JPEG 2000,
which DALI decodes on the GPU. ``png-seek`` values (:mod:`dalisr.formats.png_seek`)
are standard PNGs that dalisr's loader decodes from a restart point above
each training crop. The keys, their order and ``meta_info.txt``'s
names and shapes are kept; the level field becomes ``raw``, ``jp2`` or ``png-seek`` (or the
PNG level, going back). Every conversion keeps the pixels; raw -> PNG -> raw
gives the same values.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import DalisrError
from ..formats.codec import DEFAULT_PNG_LEVEL, decode_image, encode_value, image_shape
from ..formats.meta_info import CODECS, JP2, RAW, entries_codec
from ..formats.raw import decode_raw, read_raw_header
from ..storage.lmdb import LmdbStore
from .lmdb_writer import DEFAULT_BATCH, LmdbWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConvertResult:
    """What a conversion wrote: images, codecs, and the size of the values before and after."""

    count: int
    src_codec: str
    codec: str
    src_bytes: int
    dst_bytes: int


def _decode(key: str, value: bytes, codec: str, where: str) -> np.ndarray:
    if codec == RAW:
        return decode_raw(value, key, where)
    return decode_image(value, key, where, cv2.IMREAD_UNCHANGED)


def convert_value(job: tuple[str, bytes, str, str, int | None, str]) -> tuple[bytes, tuple[int, int, int], object]:
    """One value to ``codec``: (new bytes, (h, w, c), meta level). Module-level so that workers can run it.

    ``job`` is (key, value, source codec, target codec, PNG level or None, where).
    A value already in ``codec`` is copied unchanged, except PNG -> PNG with a level.
    """
    key, value, src_codec, codec, level, where = job
    if src_codec == codec == RAW:  # the header has the shape: nothing to decode
        head = read_raw_header(value)
        if head is None:
            decode_raw(value, key, where)  # raises, naming the key
        return value, head.shape, RAW
    img = _decode(key, value, src_codec, where)
    if src_codec == codec and (codec == JP2 or level is None):
        return value, image_shape(img), None
    try:
        encoded, meta_level = encode_value(img, codec, DEFAULT_PNG_LEVEL if level is None else level)
    except DalisrError as exc:
        raise DalisrError(f"key '{key}' in {where}: {exc}") from None
    return encoded, image_shape(img), meta_level


def _estimate(store: LmdbStore, entries: list, src_codec: str, codec: str) -> int:
    """About how large ``dst`` will be: raw values are the pixels; PNG/jp2 about the source's size."""
    if codec == RAW:
        return sum(4096 + (e.shape[0] * e.shape[1] * e.shape[2] if e.shape else 0) for e in entries)
    size = os.path.getsize(os.path.join(store.path, "data.mdb"))
    return size // 3 if src_codec == RAW else size


def convert_lmdb(src: str | os.PathLike, dst: str | os.PathLike, codec: str = RAW, *, level: int | None = None,
                 workers: int = 1, batch: int = DEFAULT_BATCH, overwrite: bool = False,
                 progress: Callable[[int], None] | None = None) -> ConvertResult:
    """Write LMDB ``dst`` holding every value of LMDB ``src`` in ``codec`` (``raw``, ``png`` or ``jp2``).

    ``level``: the PNG compression level of re-encoded values (default 1,
    BasicSR's); PNG -> PNG with no level copies the values. ``workers`` > 1
    decodes and encodes in that many processes. Nothing is left at ``dst``
    after an error.
    """
    if codec not in CODECS:
        raise DalisrError(f"codec '{codec}' is not one of {', '.join(CODECS)}")
    if level is not None and not 0 <= level <= 9:
        raise DalisrError(f"PNG compression level must be 0..9, got {level}")
    store = LmdbStore(src, "source LMDB")
    if os.path.abspath(os.fspath(dst)) == store.path:
        raise DalisrError(f"source and destination are the same LMDB ({store.path}). Fix: write a new one")
    entries = store.meta()
    if not entries:
        raise DalisrError(f"{store.meta_info_path} lists no image: nothing to convert")
    src_codec = entries_codec(entries, store.meta_info_path)
    where = store.describe()

    read = [0]

    def jobs():
        for entry in entries:
            value = store.get(entry.key)
            read[0] += len(value)
            yield entry.key, value, src_codec, codec, level, where

    if workers > 1:
        from .pool import ordered_map

        results = ordered_map(convert_value, jobs(), workers)
    else:
        results = map(convert_value, jobs())
    dst_bytes = 0
    with LmdbWriter(dst, batch=batch, overwrite=overwrite,
                    expected_bytes=_estimate(store, entries, src_codec, codec)) as writer:
        for entry, (value, shape, meta_level) in zip(entries, results):
            writer.put(entry.key, value, entry.name, shape, entry.level if meta_level is None else meta_level)
            dst_bytes += len(value)
            if progress:
                progress(1)
    log.info("converted %d values of %s (%s) into %s (%s)", len(entries), store.path, src_codec, dst, codec)
    return ConvertResult(len(entries), src_codec, codec, read[0], dst_bytes)
