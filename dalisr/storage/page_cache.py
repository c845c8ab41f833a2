"""The OS page cache behind LMDB and disk datasets: how much fits, and reading files into it.

LMDB reads are memory-map page faults: fast while ``data.mdb`` sits in the
page cache, disk-bound when it does not fit, and slow on a first pass or after
a machine drops its caches. ``warm`` reads the files once, sequentially (what
``cat data.mdb > /dev/null`` does), so that training starts at full speed;
``check_fits`` says when a dataset cannot stay cached.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..errors import DalisrError

log = logging.getLogger(__name__)

CHUNK = 8 << 20


def available_memory() -> int | None:
    """Bytes the kernel could give without swapping (``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def is_lmdb(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "data.mdb"))


def data_files(paths: Iterable[str]) -> list[str]:
    """The files behind ``paths``: an LMDB folder's ``data.mdb``, every file below another folder, a file
    itself (a dataset config's folders: :func:`dalisr.config.data_roots`)."""
    files: list[str] = []
    for path in paths:
        if is_lmdb(path):
            files.append(os.path.join(path, "data.mdb"))
        elif os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs.sort()
                files.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise DalisrError(f"{path} does not exist. Fix: pass an LMDB folder, an image folder or a file")
    return files


@dataclass(frozen=True)
class WarmResult:
    files: int
    bytes: int
    seconds: float
    #: MemAvailable when the reading ended (None where unknown)
    available: int | None

    @property
    def fits(self) -> bool | None:
        return None if self.available is None else self.bytes <= self.available


def warm(files: list[str], progress: Callable[[int], None] | None = None) -> WarmResult:
    """Read ``files`` once, start to end, into the page cache; ``progress(n)`` gets bytes read."""
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    start = time.perf_counter()
    for path in files:
        try:
            with open(path, "rb", buffering=0) as f:
                if hasattr(os, "posix_fadvise"):
                    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
                while True:
                    n = f.readinto(view)
                    if not n:
                        break
                    total += n
                    if progress:
                        progress(n)
        except OSError as exc:
            raise DalisrError(f"cannot read {path}: {exc.strerror}. Fix: check the path and its permissions") from None
    seconds = time.perf_counter() - start
    log.info("read %d files, %d bytes in %.1f s", len(files), total, seconds)
    return WarmResult(len(files), total, seconds, available_memory())


def check_fits(lmdb_paths: Iterable[str], available: int | None = None) -> str | None:
    """A warning (also logged) when the LMDBs' ``data.mdb`` files together exceed the memory available."""
    paths = sorted({os.path.abspath(p) for p in lmdb_paths})
    size = sum(os.path.getsize(os.path.join(p, "data.mdb")) for p in paths if is_lmdb(p))
    available = available_memory() if available is None else available
    if available is None or size <= available:
        return None
    message = (f"the LMDB data of this loader ({size / 1e9:.1f} GB: {', '.join(paths)}) exceeds the memory "
               f"available ({available / 1e9:.1f} GB): reads will come from disk, at its speed. Fix: free memory, "
               "keep PNG values rather than raw ones, or move the data to fast local storage")
    log.warning("%s", message)
    return message
