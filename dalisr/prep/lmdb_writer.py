"""Write BasicSR-format LMDBs safely: temp folder, growing map, rename at the end.

Whatever stops the writer (an error, Ctrl-C, SIGTERM turned into an exception,
a full disk, a failing flush at the very end), the output is complete or
absent; a later run removes the staging folders of runs that were killed.
"""

from __future__ import annotations

import logging
import os
import shutil

from ..errors import DalisrError
from ..formats.meta_info import MetaEntry, write_meta_info
from .safe_output import check_free_space, disk_error, is_disk_error, remove_quietly, remove_stale, staging_name

log = logging.getLogger(__name__)

DEFAULT_BATCH = 5000
_INITIAL_MAP = 64 * 1024 * 1024


class LmdbWriter:
    """Context manager writing ``key -> bytes`` plus ``meta_info.txt`` into ``out``.

    Everything goes to ``out`` + ``.partial-<pid>`` first and is renamed to
    ``out`` only when the ``with`` block ends without an exception: a failed or
    interrupted run (Ctrl-C included) leaves nothing at ``out``. The map size
    doubles whenever LMDB reports it full, so no size has to be guessed.
    ``expected_bytes`` (an estimate of the values' total size) is checked
    against the free space before anything is written.
    """

    def __init__(self, out: str | os.PathLike, *, batch: int = DEFAULT_BATCH, overwrite: bool = False,
                 map_size: int = _INITIAL_MAP, expected_bytes: int | None = None) -> None:
        self.out = os.path.abspath(os.fspath(out))
        if not self.out.endswith(".lmdb"):
            raise DalisrError(f"LMDB output '{self.out}' must end with .lmdb (BasicSR's readers require it)")
        if os.path.exists(self.out) and not overwrite:
            raise DalisrError(f"{self.out} already exists. Fix: remove it or pass --overwrite")
        if batch < 1:
            raise DalisrError(f"commit batch must be at least 1, got {batch}")
        self.overwrite = overwrite
        self.batch = batch
        self.tmp = staging_name(self.out)
        self.expected_bytes = expected_bytes
        self.map_size = map_size
        self.entries: list[MetaEntry] = []
        self._pending: list[tuple[bytes, bytes]] = []
        self._keys: set[str] = set()
        self.value_bytes = 0
        self._env = None

    def __enter__(self) -> LmdbWriter:
        import lmdb

        parent = os.path.dirname(self.out)
        if not os.path.isdir(parent):
            raise DalisrError(f"output folder {parent} does not exist")
        remove_stale(self.out)
        if self.expected_bytes is not None:
            # with the disk already full LMDB would die of SIGBUS, not report an error
            check_free_space(self.out, self.expected_bytes, "the LMDB")
        try:
            # lock=False: the staging folder is this process's alone, and a lock file is a memory map
            # that kills the process with SIGBUS when the disk is full
            self._env = lmdb.open(self.tmp, map_size=self.map_size, subdir=True, lock=False)
        except lmdb.Error as exc:
            remove_quietly(self.tmp)
            if is_disk_error(exc):
                raise disk_error(exc, self.out, self.expected_bytes) from None
            raise DalisrError(f"cannot create the LMDB {self.tmp}: {exc}") from None
        return self

    def put(self, key: str, value: bytes, name: str | None = None, shape: tuple | None = None,
            level: int | None = None) -> None:
        """Add one value; ``name``/``shape``/``level`` make its meta info line (name defaults to key)."""
        try:
            raw_key = key.encode("ascii")
        except UnicodeEncodeError:
            raise DalisrError(f"LMDB key '{key}' is not ASCII (BasicSR's keys must be). Fix: rename the file") from None
        if any(ch.isspace() for ch in key):
            raise DalisrError(f"LMDB key '{key}' contains whitespace, which BasicSR's meta_info.txt cannot hold. "
                              "Fix: rename the file without spaces")
        if key in self._keys:
            raise DalisrError(f"key '{key}' is written twice into {self.out}: two inputs map to the same key")
        self._keys.add(key)
        self._pending.append((raw_key, value))
        self.value_bytes += len(value)
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
                self._env.close()
                write_meta_info(os.path.join(self.tmp, "meta_info.txt"), self.entries)
                if os.path.exists(self.out):  # only reachable with overwrite=True
                    shutil.rmtree(self.out)
                os.replace(self.tmp, self.out)
                return
        except BaseException as late:  # the final flush, sync, meta write or rename failed, or Ctrl-C came
            self._abandon()
            if is_disk_error(late):
                raise disk_error(late, self.out, self.expected_bytes, self.value_bytes,
                                 f" while committing its {len(self.entries)} values") from None
            raise
        self._abandon()
        if exc is not None and is_disk_error(exc):
            raise disk_error(exc, self.out, self.expected_bytes, self.value_bytes,
                             f" after {len(self.entries)} values") from None

    def _abandon(self) -> None:
        try:
            self._env.close()
        except Exception:  # pragma: no cover - closing twice or a broken env
            pass
        remove_quietly(self.tmp)
