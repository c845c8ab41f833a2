"""Folder scans, image reads and all-or-nothing output folders shared by the prep tools."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator

import cv2
import numpy as np

from ..errors import DalisrError
from ..storage.disk import IMAGE_EXTENSIONS
from .safe_output import check_free_space, disk_error, is_disk_error, remove_quietly, remove_stale, staging_name

log = logging.getLogger(__name__)


def require_folder(folder: str | os.PathLike, what: str = "input folder") -> str:
    """``folder`` as a string; DalisrError if it is missing or not a folder."""
    folder = os.fspath(folder)
    if not os.path.exists(folder):
        raise DalisrError(f"{what} {folder} does not exist. Fix: check the path (and that the download was unpacked)")
    if not os.path.isdir(folder):
        raise DalisrError(f"{what} {folder} is not a folder")
    return folder


def list_images(folder: str | os.PathLike, *, recursive: bool = False,
                extensions: tuple[str, ...] = IMAGE_EXTENSIONS, what: str = "input folder") -> list[str]:
    """Sorted image paths relative to ``folder`` (``/``-separated); DalisrError if there are none.

    Hidden files and folders (names starting with ``.``, e.g. our own
    ``.partial-*`` staging folders) are skipped.
    """
    folder = require_folder(folder, what)
    found: list[str] = []

    def scan(sub: str) -> None:
        with os.scandir(os.path.join(folder, sub) if sub else folder) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                rel = f"{sub}/{entry.name}" if sub else entry.name
                if entry.is_dir():
                    if recursive:
                        scan(rel)
                elif entry.name.lower().endswith(extensions):
                    found.append(rel)

    try:
        scan("")
    except OSError as exc:
        raise DalisrError(f"cannot list {what} {getattr(exc, 'filename', None) or folder}: "
                          f"{exc.strerror or exc}. Fix: give this user read permission, or check the disk") from None
    if not found:
        kinds = "/".join(e.lstrip(".") for e in extensions)
        where = "in or below" if recursive else "directly in"
        raise DalisrError(f"{what} {folder} holds no image ({kinds}) {where} it. Fix: point it at the image folder")
    return sorted(found)


def read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise DalisrError(f"{path} does not exist") from None
    except OSError as exc:
        raise DalisrError(f"cannot read {path}: {exc.strerror}") from None


def read_image(path: str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """``cv2.imread(path, IMREAD_UNCHANGED)`` (BasicSR's reads), DalisrError naming a corrupt file."""
    buf = read_bytes(path)
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), flags) if buf else None
    if img is None:
        raise DalisrError(f"{path} is not a readable image (corrupt or truncated, {len(buf)} bytes). "
                          "Fix: re-download or delete it")
    return img


def write_bytes(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def check_output(out: str | os.PathLike, overwrite: bool) -> str:
    """Refuse an existing ``out`` unless ``overwrite``; its parent folder must exist."""
    out = os.path.abspath(os.fspath(out))
    if os.path.exists(out) and not overwrite:
        raise DalisrError(f"{out} already exists. Fix: remove it or pass --overwrite")
    parent = os.path.dirname(out)
    if not os.path.isdir(parent):
        raise DalisrError(f"output folder {parent} does not exist. Fix: create it first")
    return out


def folder_bytes(folder: str) -> int:
    """Bytes in the files in and below ``folder``."""
    total = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.path.getsize(os.path.join(parent, name))
            except OSError:
                pass
    return total


@contextlib.contextmanager
def staged_folder(out: str | os.PathLike, overwrite: bool = False, expected_bytes: int | None = None) -> Iterator[str]:
    """Yield a temp folder beside ``out`` that becomes ``out`` only if the block succeeds.

    A failure, Ctrl-C or SIGTERM (see :mod:`dalisr.prep.safe_output`) removes the
    temp folder, so nothing half-written is ever left at ``out``; one left by
    a killed run is removed by the next. ``expected_bytes``, an estimate of
    what will be written, is checked against the free space first.
    """
    out = check_output(out, overwrite)
    hidden = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}")
    remove_stale(hidden)
    if expected_bytes is not None:
        check_free_space(out, expected_bytes, "the output folder")
    tmp = staging_name(hidden)
    try:
        os.makedirs(tmp)
        yield tmp
    except BaseException as exc:
        written = folder_bytes(tmp) if is_disk_error(exc) else 0
        remove_quietly(tmp)
        if is_disk_error(exc):
            raise disk_error(exc, out, expected_bytes, written) from None
        raise
    try:
        if os.path.lexists(out):
            if os.path.isdir(out) and not os.path.islink(out):
                shutil.rmtree(out)
            else:
                os.remove(out)
        os.replace(tmp, out)
    except BaseException:
        remove_quietly(tmp)
        raise
    log.info("wrote %s", out)
