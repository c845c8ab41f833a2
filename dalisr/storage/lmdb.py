"""BasicSR-format LMDB: keys are image names without extension, values encoded bytes."""

from __future__ import annotations

import logging
import os
import threading

from ..errors import DalisrError
from ..formats.meta_info import MetaEntry, MetaTable, entries_codec, read_meta_table
from .base import Store
from .disk import unreadable
from .lmdb_pages import ValueMap, map_values

log = logging.getLogger(__name__)

# py-lmdb refuses to open one path twice in a process, and an environment must
# not be used by a process that inherited it through fork. So each process
# keeps one environment per path, tagged with the pid that opened it; a child
# closes what it inherited and opens its own.
_ENVS: dict[str, tuple[int, object]] = {}
_ENVS_LOCK = threading.Lock()
# the same per process for the value maps of lmdb_pages (None: the layout was not understood)
_MAPS: dict[str, tuple[int, ValueMap | None]] = {}


def _open_env(path: str):
    import lmdb

    key = os.path.realpath(path)  # py-lmdb refuses a second handle on one environment, also through a symlink
    with _ENVS_LOCK:
        held = _ENVS.get(key)
        if held is not None:
            pid, env = held
            if pid == os.getpid():
                return env
            try:  # inherited through fork: drop the parent's mapping in this process only
                env.close()
            except Exception:  # pragma: no cover - closing a stale handle is best effort
                pass
        try:
            env = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False, max_readers=2048)
        except lmdb.Error as exc:
            if "already open" in str(exc):
                raise DalisrError(
                    f"cannot open LMDB {path}: other code in this process holds it open (py-lmdb allows one "
                    "handle per LMDB and process; e.g. BasicSR's own loader for a `dalisr: false` section). "
                    "Fix: let dalisr serve every section that reads this LMDB, or give that section a copy"
                ) from None
            raise DalisrError(
                f"cannot open LMDB {path}: {exc}. Fix: check the path is a folder holding data.mdb "
                "made by `dalisr create-lmdb` (or BasicSR's create_lmdb)."
            ) from None
        _ENVS[key] = (os.getpid(), env)
        return env


def _close_env(path: str) -> None:
    with _ENVS_LOCK:
        _MAPS.pop(path, None)
        held = _ENVS.pop(os.path.realpath(path), None)
    if held is not None and held[0] == os.getpid():
        held[1].close()


class LmdbStore(Store):
    """Read-only BasicSR LMDB with its ``meta_info.txt``, opened lazily per process."""

    kind = "lmdb"

    def __init__(self, path: str | os.PathLike, role: str = "dataroot") -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.role = role
        data = os.path.join(self.path, "data.mdb")
        try:
            with open(data, "rb"):
                pass
        except FileNotFoundError:
            pass
        except OSError as exc:  # the folder or data.mdb is unreadable: say so, not "no data.mdb"
            raise DalisrError(unreadable(f"{role} LMDB", data, exc)) from None
        if not os.path.isfile(data):
            raise DalisrError(
                f"{role} '{self.path}' is not an LMDB (no data.mdb inside). "
                "Fix: make it with `dalisr create-lmdb`, or set io_backend.type to disk for an image folder."
            )
        self._table: MetaTable | None = None
        self._meta: list[MetaEntry] | None = None

    @property
    def meta_info_path(self) -> str:
        return os.path.join(self.path, "meta_info.txt")

    def meta_table(self) -> MetaTable:
        """``meta_info.txt`` in file order, compactly (read once per process, never pickled)."""
        if self._table is None:
            if not os.path.isfile(self.meta_info_path):
                raise DalisrError(
                    f"{self.describe()} has no meta_info.txt. Fix: write one with `dalisr meta-info {self.path}` "
                    "(BasicSR LMDBs always carry it)."
                )
            self._table = read_meta_table(self.meta_info_path)
        return self._table

    def codec(self) -> str:
        # one entry per distinct (shape, level) of the meta info: the same answer without a pass over every line
        return entries_codec((MetaEntry("", *tail) for tail in self.meta_table().tails), self.meta_info_path)

    def meta(self) -> list[MetaEntry]:
        """The entries of ``meta_info.txt`` in file order."""
        if self._meta is None:
            self._meta = self.meta_table().entries()
        return self._meta

    def keys(self) -> list[str]:
        return sorted(self.meta_table().keys())

    def __getstate__(self) -> dict:
        # the meta info stays behind: a worker only reads values, and a million entries would be copied into each
        return {**self.__dict__, "_table": None, "_meta": None}

    def get(self, key: str) -> bytes:
        import lmdb

        env = _open_env(self.path)
        try:
            with env.begin(write=False, buffers=False) as txn:
                value = txn.get(key.encode("ascii"))
        except lmdb.Error as exc:  # MDB_CORRUPTED, MDB_PAGE_NOTFOUND, ...: the file, not the key
            raise DalisrError(
                f"key '{key}' in {self.describe()} cannot be read: {exc}. data.mdb is damaged or was changed while "
                "in use. Fix: re-create the LMDB (dalisr create-lmdb) or re-copy it") from None
        if value is None:
            raise DalisrError(
                f"key '{key}' not found in {self.describe()}. "
                "Fix: check that meta_info.txt matches the data (re-create the LMDB) or the key spelling."
            )
        return value

    def peek(self, key: str) -> bytes:
        """One value, closing the environment again if this call opened it: py-lmdb allows one handle per
        path and process, and the main process keeping one would stop other code in it (BasicSR's own
        loader for a ``dalisr: false`` section on the same LMDB) from opening that LMDB."""
        with _ENVS_LOCK:
            held = _ENVS.get(os.path.realpath(self.path))
        opened_here = held is None or held[0] != os.getpid()
        try:
            return self.get(key)
        finally:
            if opened_here:
                _close_env(self.path)

    def get_view(self, txn, key: str) -> memoryview | None:
        """Zero-copy access inside an open read transaction (``env().begin(buffers=True)``)."""
        return txn.get(key.encode("ascii"))

    def env(self):
        return _open_env(self.path)

    def value_map(self) -> ValueMap | None:
        """Views of values that read only the pages a caller touches (:mod:`.lmdb_pages`), or None.

        py-lmdb's ``get`` reads every page of a value; crops of raw values
        use this map instead, so that they read only their rows. Built once
        per process and checked against LMDB's own page counts.
        """
        with _ENVS_LOCK:
            held = _MAPS.get(self.path)
        if held is not None and held[0] == os.getpid():
            return held[1]
        found = map_values(self.path, self.env().stat())
        with _ENVS_LOCK:
            _MAPS[self.path] = (os.getpid(), found)
        return found

    def describe(self) -> str:
        return f"lmdb store {self.path}"

    def close(self) -> None:
        _close_env(self.path)

