"""Numpy arrays that travel to DALI's workers as a file name, not as their contents.

A dataset index is built once, in the training process. DALI's workers get it
by inheritance (fork: pages shared copy-on-write, never written) or by pickle
(spawn): pickling a million-sample index into every worker, at every pipeline
rebuild, costs seconds and a private copy per worker. :class:`SharedArrays`
pickles as a handle instead: on the first pickle the arrays are written once
to a file in ``/dev/shm`` (memory, not disk) and the owner re-maps its own
arrays onto it; every unpickle maps the same file read-only, so all processes
share one copy of the pages. Later pickles (a rebuild, a resume) reuse the
file. It is removed when the owner's object goes or the process exits; files
left by a killed process are removed by the next one that publishes.
"""

from __future__ import annotations

import contextlib
import gc
import mmap
import os
import tempfile
import uuid
import weakref
from collections.abc import Iterator, Mapping

import numpy as np

from ..processes import pid_alive

PREFIX = "dalisr-index-"
ALIGN = 64


def shared_dirs() -> list[str]:
    """Where published arrays go: ``DALISR_SHM_DIR``, else ``/dev/shm`` (memory-backed), else the temp folder."""
    dirs = [os.environ.get("DALISR_SHM_DIR", ""), "/dev/shm", tempfile.gettempdir()]
    return [d for d in dirs if d and os.path.isdir(d) and os.access(d, os.W_OK)]


def sweep_stale(folder: str) -> None:
    """Remove files published by processes that no longer run (killed before they could clean up)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not name.startswith(PREFIX):
            continue
        try:
            pid = int(name[len(PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not pid_alive(pid):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))


def _unlink(path: str, owner: int) -> None:
    if os.getpid() == owner:  # a forked child inherits the finalizer: only the owner removes the file
        with contextlib.suppress(OSError):
            os.unlink(path)


def _map(path: str, layout: list[tuple[str, str, tuple[int, ...], int]]) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        mm = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) if size else None
    out = {}
    for name, dtype, shape, offset in layout:
        count = int(np.prod(shape, dtype=np.int64))
        if count == 0 or mm is None:
            out[name] = np.empty(shape, dtype=dtype)
        else:
            out[name] = np.frombuffer(mm, dtype=dtype, count=count, offset=offset).reshape(shape)
    return out


class SharedArrays(Mapping):
    """A read-only bundle of named numpy arrays that pickles as a handle to one shared file."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
        for a in self._arrays.values():
            a.flags.writeable = False
        self._path: str | None = None
        self._layout: list[tuple[str, str, tuple[int, ...], int]] | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._arrays.values())

    @property
    def path(self) -> str | None:
        """The shared file, once published (None before)."""
        return self._path

    def publish(self) -> str:
        """Write the arrays to a shared file (once) and map this process's own copy onto it."""
        if self._path is not None:
            return self._path
        layout, offset = [], 0
        for name, a in self._arrays.items():
            offset = -(-offset // ALIGN) * ALIGN
            layout.append((name, a.dtype.str, tuple(a.shape), offset))
            offset += a.nbytes
        error: OSError | None = None
        for folder in shared_dirs():
            sweep_stale(folder)
            path = os.path.join(folder, f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex}")
            try:
                with open(path, "wb") as f:
                    for (_, _, _, at), a in zip(layout, self._arrays.values()):
                        f.seek(at)
                        f.write(memoryview(a).cast("B"))
                    f.truncate(offset)
            except OSError as exc:  # e.g. a small /dev/shm: try the next folder
                error = exc
                with contextlib.suppress(OSError):
                    os.unlink(path)
                continue
            weakref.finalize(self, _unlink, path, os.getpid())
            self._path, self._layout = path, layout
            self._arrays = _map(path, layout)
            return path
        raise OSError(f"cannot write the shared dataset index anywhere ({error})")

    def __getstate__(self) -> dict:
        self.publish()
        return {"path": self._path, "layout": self._layout}

    def __setstate__(self, state: dict) -> None:
        self._path, self._layout = state["path"], state["layout"]
        self._arrays = _map(self._path, self._layout)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection while an index is built: its many short-lived objects would trigger full
    collections that scan everything the process holds (a third of the build time at 100k samples)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
