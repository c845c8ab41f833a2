"""Files under a folder: the ``disk`` backend."""

from __future__ import annotations

import os

from ..errors import DalisrError
from .base import Store

#: file endings treated as images when a folder is listed
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp")


def unreadable(what: str, path: str, exc: OSError) -> str:
    """The message for a file or folder the OS refuses to read, with the fix for its cause."""
    import errno

    if exc.errno in (errno.EACCES, errno.EPERM):
        fix = "give this user read permission (chmod/chown), or run as a user who can read it"
    else:  # EIO, ESTALE, ...: the disk or the network file system
        fix = "check the disk (dmesg) or remount the network file system, then re-copy the data if it is damaged"
    return f"{what} cannot be read: {path}: {exc.strerror or exc}. Fix: {fix}"


class DiskStore(Store):
    """Reads ``root/key``; keys are paths relative to ``root``, extension included."""

    kind = "disk"

    def __init__(self, root: str | os.PathLike, role: str = "dataroot") -> None:
        self.root = os.fspath(root)
        self.role = role

    def path(self, key: str) -> str:
        return os.path.join(self.root, key)

    def get(self, key: str) -> bytes:
        path = self.path(key)
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise DalisrError(
                f"key '{key}' not found in {self.describe()}: {path} does not exist. "
                f"Fix: check {self.role}, filename_tmpl and meta_info_file."
            ) from None
        except IsADirectoryError:
            raise DalisrError(f"key '{key}' in {self.describe()} is a folder, not an image file: {path}") from None
        except OSError as exc:  # permission denied, an I/O error of a failing disk, a stale NFS handle
            raise DalisrError(unreadable(f"key '{key}' in {self.describe()}", path, exc)) from None

    def keys(self) -> list[str]:
        """Image files directly inside root (not recursive, as BasicSR's folder scan)."""
        if not os.path.isdir(self.root):
            raise DalisrError(
                f"{self.role} '{self.root}' is not a folder. Fix: point {self.role} at the image folder "
                "(or set io_backend.type to lmdb for a .lmdb folder)."
            )
        names = []
        try:
            with os.scandir(self.root) as it:
                for entry in it:
                    if entry.is_file() and entry.name.lower().endswith(IMAGE_EXTENSIONS):
                        names.append(entry.name)
        except OSError as exc:
            raise DalisrError(unreadable(f"{self.role} folder", self.root, exc)) from None
        return sorted(names)

    def describe(self) -> str:
        return f"disk store {self.root}" if self.root else "disk files"
