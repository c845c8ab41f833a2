"""``meta-info``: BasicSR's meta info files, sizes read from PNG or JPEG 2000 headers (no decoding).

Layouts (one line per ...):

* ``div2k`` (per image): ``0001_s001.png (480,480,3)``;
* ``reds`` (per clip): ``000 100 (720,1280,3)`` = clip, number of frames, frame shape;
* ``vimeo90k`` (per sequence): ``00001/0001 7 (256,448,3)``.

The source is an image folder (``IN/name.png``, ``IN/clip/frame.png`` or
``IN/clip/seq/imN.png``) or an LMDB, whose keys play the part of the paths.
Per-image lines of an LMDB keep the codec of dalisr's raw and JPEG 2000
values (``0001_s001.png (480,480,3) raw``), so rewriting an LMDB's own
meta_info.txt never loses it; a PNG's compression level cannot be read back
from its bytes and is left out, as BasicSR's readers do not use it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from ..errors import DalisrError
from ..formats.codec import header_shape, image_shape
from ..formats.jp2 import is_jp2
from ..formats.meta_info import JP2, PNG_SEEK, RAW, MetaEntry, format_shape
from ..formats.png_seek import is_png_seek
from ..formats.raw import read_raw_header
from ..storage.page_cache import is_lmdb
from .files import list_images, require_folder

log = logging.getLogger(__name__)

LAYOUTS = ("div2k", "reds", "vimeo90k")
_DEPTH = {"div2k": 0, "reds": 1, "vimeo90k": 2}
#: enough of a file for its PNG or JPEG 2000 header
HEAD_BYTES = 512


def shape_of(head: bytes | memoryview, full: Callable[[], bytes], where: str) -> tuple[int, int, int]:
    """(h, w, c) from a PNG or JPEG 2000 header; other formats (or odd PNGs) are decoded once."""
    shape = header_shape(head)
    if shape is not None:
        return shape
    img = cv2.imdecode(np.frombuffer(full(), np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DalisrError(f"{where} is not a readable image (corrupt or truncated). Fix: re-create or delete it")
    return image_shape(img)


def _folder_shapes(folder: str, layout: str) -> Iterator[tuple[str, tuple[int, int, int], None]]:
    recursive = layout != "div2k"
    for rel in list_images(folder, recursive=recursive):
        path = os.path.join(folder, rel)
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)

        def full(path=path) -> bytes:
            with open(path, "rb") as f:
                return f.read()

        yield rel, shape_of(head, full, path), None


def lmdb_env(path: str):
    """The process's one read-only environment for ``path`` (py-lmdb refuses a second one)."""
    from ..storage.lmdb import LmdbStore

    return LmdbStore(path).env()


def _lmdb_shapes(path: str) -> Iterator[tuple[str, tuple[int, int, int], str | None]]:
    """(name, shape, codec level or None) per key: ``raw``, ``jp2`` and ``png-seek`` values say so."""
    with lmdb_env(path).begin(buffers=True) as txn:
        for raw_key, value in txn.cursor():
            key = bytes(raw_key).decode("ascii", errors="replace")
            raw = read_raw_header(value)
            if raw is not None:
                yield f"{key}.png", raw.shape, RAW
                continue
            where = f"key '{key}' in {path}"
            level = JP2 if is_jp2(value) else PNG_SEEK if is_png_seek(value) else None
            yield f"{key}.png", shape_of(value[:HEAD_BYTES], lambda value=value: bytes(value), where), level


def count_images(source: str, layout: str) -> int:
    """How many images ``meta_info_lines`` will look at (for a progress bar)."""
    if is_lmdb(source):
        return lmdb_env(source).stat()["entries"]
    return len(list_images(source, recursive=layout != "div2k"))


def meta_info_lines(source: str, layout: str = "div2k", *, sequences: list[str] | None = None,
                    progress: Callable[[int], None] | None = None) -> list[str]:
    """BasicSR's meta info lines for the images of a folder or LMDB, in sorted order.

    ``sequences`` (Vimeo90K's train list) keeps those sequences, in list order.
    """
    if layout not in LAYOUTS:
        raise DalisrError(f"--layout '{layout}' is not known. Fix: use one of {', '.join(LAYOUTS)}")
    require_folder(source, "input")
    shapes = _lmdb_shapes(source) if is_lmdb(source) else _folder_shapes(source, layout)
    depth = _DEPTH[layout]
    groups: dict[str, list] = {}  # group -> [frames, shape, first name]
    lines: list[str] = []
    for name, shape, level in shapes:
        if progress:
            progress(1)
        if depth == 0:
            lines.append(MetaEntry(name, shape, level).line())
            continue
        parts = name.split("/")
        if len(parts) != depth + 1:
            pattern = "clip/frame.png" if layout == "reds" else "clip/seq/imN.png"
            raise DalisrError(f"'{name}' in {source} is not at {pattern} ({layout} layout). "
                              "Fix: pass the folder (or LMDB) holding the clips, or choose the right --layout")
        group = "/".join(parts[:depth])
        held = groups.setdefault(group, [0, shape, name])
        if held[1] != shape:
            raise DalisrError(f"'{name}' in {source} is {format_shape(shape)} but '{held[2]}' of the same clip is "
                              f"{format_shape(held[1])}: frames of one clip must share one size")
        held[0] += 1
    if depth == 0:
        return lines
    order = sorted(groups)
    if sequences is not None:
        missing = [s for s in sequences if s not in groups]
        if missing:
            raise DalisrError(f"{len(missing)} sequences of the train list are not in {source}, first '{missing[0]}'")
        order = sequences
    return [f"{g} {groups[g][0]} {format_shape(groups[g][1])}" for g in order]


def write_lines(path: str, lines: list[str], overwrite: bool = False) -> None:
    if os.path.exists(path) and not overwrite:
        raise DalisrError(f"{path} already exists. Fix: remove it or pass --overwrite")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise DalisrError(f"folder {parent} for {path} does not exist. Fix: create it first")
    tmp = f"{path}.partial-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
    os.replace(tmp, path)
