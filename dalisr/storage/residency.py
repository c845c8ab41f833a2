"""How much of a loader's data sits in the page cache now: a bounded sample of pages, asked with ``mincore``.

Free memory says whether a dataset *could* stay cached; it says nothing of
whether it *is*: a machine that reclaims the page cache while idle (seen: a
2.5 GB LMDB 14% resident ten minutes after use, 22 GB still free) reads from
disk at a fraction of the speed, with no sign why. ``mincore`` on a read-only
mapping tells, page by page, without reading or faulting anything; probing a
few hundred evenly spaced pages per file (and a few dozen files of a folder
dataset) keeps the check to milliseconds on any dataset size.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

PAGE = mmap.PAGESIZE
#: pages probed per file, evenly spaced
PROBES_PER_FILE = 256
#: files probed of a folder dataset, evenly spaced over its samples
MAX_FILES = 32
#: warn below this resident fraction ...
WARN_FRACTION = 0.5
#: ... when at least this much is not resident (a small dataset is cached after its first pass anyway)
WARN_BYTES = 256 << 20

_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                              ctypes.c_long]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        _LIBC = libc
    return _LIBC


def file_residency(path: str, probes: int = PROBES_PER_FILE) -> tuple[int, int] | None:
    """(resident, probed) pages of ``path`` over ``probes`` evenly spaced pages; None where it cannot tell."""
    try:
        size = os.path.getsize(path)
        if size == 0:
            return 0, 0
        libc = _libc()
        fd = os.open(path, os.O_RDONLY)
    except (OSError, AttributeError):  # no libc mincore (not Linux), unreadable file
        return None
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            return None
        try:
            pages = (size + PAGE - 1) // PAGE
            picks = np.unique(np.linspace(0, pages - 1, min(pages, probes)).astype(np.int64)).tolist()
            vec = ctypes.c_ubyte()
            resident = 0
            for page in picks:
                if libc.mincore(addr + page * PAGE, PAGE, ctypes.byref(vec)) != 0:
                    return None
                resident += vec.value & 1
            return resident, len(picks)
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Residency:
    """An estimate of how much of some files is in the page cache."""

    files: int
    bytes: int
    resident_bytes: int
    probed_pages: int

    @property
    def fraction(self) -> float:
        return self.resident_bytes / self.bytes if self.bytes else 1.0

    def to_dict(self) -> dict:
        return {"files": self.files, "bytes": self.bytes, "resident_fraction": round(self.fraction, 4),
                "probed_pages": self.probed_pages}


def residency(files: Sequence[str], probes: int = PROBES_PER_FILE) -> Residency | None:
    """Each file's resident fraction, weighted by its size; None where ``mincore`` cannot tell."""
    total = resident = probed = 0
    for path in files:
        got = file_residency(path, probes)
        if got is None:
            return None
        size = os.path.getsize(path)
        total += size
        if got[1]:
            resident += size * got[0] // got[1]
            probed += got[1]
    return Residency(len(files), total, resident, probed)


def loader_files(dataset, stores: dict, max_files: int = MAX_FILES) -> tuple[list[str], float]:
    """The files a loader reads, and how many times more data they stand for: each LMDB's ``data.mdb`` (1x);
    for folder stores, those of a few samples spread over the index (n / samples taken); memcached: none."""
    files: list[str] = []
    n = len(dataset)
    picks = np.unique(np.linspace(0, n - 1, min(n, max_files)).astype(np.int64)).tolist() if n else []
    for role, store in stores.items():
        kind = store.kind
        if kind == "lmdb":
            files.append(os.path.join(store.path, "data.mdb"))
        elif kind == "disk":
            for i in picks:
                for key in dataset.keys_for(i, np.random.default_rng(i)).get(role, ()):
                    path = store.path(key)
                    if os.path.isfile(path):
                        files.append(path)
    scale = n / len(picks) if picks and any(s.kind == "disk" for s in stores.values()) else 1.0
    return list(dict.fromkeys(files)), scale


def check_resident(files: Sequence[str], scale: float = 1.0, min_fraction: float = WARN_FRACTION,
                   min_bytes: int = WARN_BYTES) -> str | None:
    """A warning (also logged) when much of ``files`` (standing for ``scale`` times their bytes) is not in the
    page cache, with the fixes."""
    found = residency(files)
    if found is None or found.fraction >= min_fraction or (found.bytes - found.resident_bytes) * scale < min_bytes:
        return None
    where = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    message = (f"only {found.fraction:.0%} of this loader's data ({where}) is in the page cache (of "
               f"~{found.bytes * scale / 1e9:.2f} GB in all): until it is read once, samples come from disk at a "
               "fraction of the speed. Fix: run `dalisr warm-cache CONFIG` (or the data folders) before training, "
               "or store raw-codec values (`dalisr convert --codec raw`), whose crops read only the pages they need")
    log.warning("%s", message)
    return message
