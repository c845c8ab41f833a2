"""Write BasicSR-format LMDBs safely: temp folder, growing map, rename at the end."""

from __future__ import annotations

import logging
import os
import shutil

from ..errors import DalisrError
from .meta_info import MetaEntry, write_meta_info

log = logging.getLogger(__name__)

DEFAULT_BATCH = 5000
_INITIAL_MAP = 64 * 1024 * 1024


class LmdbWriter:
    """Context manager writing ``key -> bytes`` plus ``meta_info.txt`` into ``out``.

    Everything goes to ``out`` + ``.partial-<pid>`` first and is renamed to
    ``out`` only when the ``with`` block ends without an exception: a failed or
    interrupted run (Ctrl-C included) leaves nothing at ``out``. The map size
    doubles whenever LMDB reports it full, so no size has to be guessed.
    """

    def __init__(self, out: str | os.PathLike, *, batch: int = DEFAULT_BATCH, overwrite: bool = False,
                 map_size: int = _INITIAL_MAP) -> None:
        self.out = os.path.abspath(os.fspath(out))
        if not self.out.endswith(".lmdb"):
            raise DalisrError(f"LMDB output '{self.out}' must end with .lmdb (BasicSR's readers require it)")
        if os.path.exists(self.out) and not overwrite:
            raise DalisrError(f"{self.out} already exists. Fix: remove it or pass --overwrite")
        if batch < 1:
            raise DalisrError(f"commit batch must be at least 1, got {batch}")
        self.overwrite = overwrite
        self.batch = batch
        self.tmp = f"{self.out}.partial-{os.getpid()}"
        self.map_size = map_size
        self.entries: list[MetaEntry] = []
        self._pending: list[tuple[bytes, bytes]] = []
        self._keys: set[str] = set()
        self._env = None

    def __enter__(self) -> LmdbWriter:
        import lmdb

        shutil.rmtree(self.tmp, ignore_errors=True)
        parent = os.path.dirname(self.out)
        if not os.path.isdir(parent):
            raise DalisrError(f"output folder {parent} does not exist")
        self._env = lmdb.open(self.tmp, map_size=self.map_size, subdir=True, lock=True)
        return self

    def put(self, key: str, value: bytes, name: str | None = None, shape: tuple | None = None,
            level: int | None = None) -> None:
        """Add one value; ``name``/``shape``/``level`` make its meta info line (name defaults to key)."""
        try:
            raw_key = key.encode("ascii")
        except UnicodeEncodeError:
            raise DalisrError(f"LMDB key '{key}' is not ASCII (BasicSR's keys must be). Fix: rename the file") from None
        if key in self._keys:
            raise DalisrError(f"key '{key}' is written twice into {self.out}: two inputs map to the same key")
        self._keys.add(key)
        self._pending.append((raw_key, value))
        self.entries.append(MetaEntry(name or key, shape, level))
        if len(self._pending) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        import lmdb

        while self._pending:
            try:
                with self._env.begin(write=True) as txn:
                    for k, v in self._pending:
                        txn.put(k, v)
                self._pending.clear()
            except lmdb.MapFullError:
                self.map_size *= 2
                log.debug("LMDB map full; growing to %d bytes", self.map_size)
                self._env.set_mapsize(self.map_size)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._flush()
                self._env.sync()
        finally:
            self._env.close()
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        write_meta_info(os.path.join(self.tmp, "meta_info.txt"), self.entries)
        if os.path.exists(self.out):  # only reachable with overwrite=True
            shutil.rmtree(self.out)
        os.replace(self.tmp, self.out)
