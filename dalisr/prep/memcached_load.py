"""``memcached-load``: fill memcached ahead of training, under the names the loader asks for.

The memcached store caches the file ``KEY`` of a dataroot under the name
``normpath(join(dataroot, KEY))`` (``storage.memcached.MemcachedStore.name``),
mapped to a valid memcached key by ``storage.hashing.memcached_key`` and placed
on its server by rendezvous hashing. Loading goes through the same
``MemcachedStore.put``, so a later ``MemcachedStore(servers, dataroot).get(KEY)``
is a hit:

* a folder: every image in and below DATAROOT is put under its path relative to
  DATAROOT (``0001_s001.png``, ``000/00000000.png``), bytes as they are on disk;
* an LMDB: every key is put as the file ``KEY.png`` (its meta_info.txt name) of
  a dataroot, by default the LMDB's path without ``.lmdb``; the values are the
  LMDB's PNG bytes (they decode to the same pixels as the original files).

Cache names contain the dataroot as spelled, so spell it as the training
config does (same relative path, same working directory).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..errors import DalisrError
from ..formats.meta_info import read_meta_info
from ..storage.memcached import MemcachedStore, parse_server, read_server_list
from .files import list_images, read_bytes, require_folder
from .meta import is_lmdb, lmdb_env

log = logging.getLogger(__name__)


@dataclass
class LoadPlan:
    source: str
    kind: str  # "disk" or "lmdb"
    dataroot: str
    #: (name the loader asks for, LMDB key or None for files)
    items: list[tuple[str, str | None]]


@dataclass
class LoadResult:
    stored: int = 0
    failed: list[str] = field(default_factory=list)


def collect_servers(servers: tuple[str, ...] | list[str], server_list_cfg: str | None) -> list[str]:
    """``host:port`` from repeated/comma-separated options and a server list file."""
    found = [parse_server(s) for spec in servers for s in spec.replace(",", " ").split()]
    if server_list_cfg:
        found += read_server_list(server_list_cfg)
    if not found:
        raise DalisrError("no memcached server given. Fix: pass --servers host:port (repeatable) "
                          "or --server-list-cfg FILE")
    return list(dict.fromkeys(found))


def default_dataroot(lmdb_path: str) -> str:
    path = lmdb_path.rstrip("/" + os.sep)
    return path[: -len(".lmdb")] if path.endswith(".lmdb") else path


def plan_load(source: str, dataroot: str | None = None) -> LoadPlan:
    require_folder(source, "DATAROOT")
    if not is_lmdb(source):
        if dataroot is not None and os.path.normpath(dataroot) != os.path.normpath(source):
            raise DalisrError("--dataroot is for LMDB sources; a folder is loaded under its own path "
                              "(spell DATAROOT as the config's dataroot)")
        return LoadPlan(source, "disk", source, [(rel, None) for rel in list_images(source, recursive=True)])
    meta_path = os.path.join(source, "meta_info.txt")
    if not os.path.isfile(meta_path):
        raise DalisrError(f"{source} has no meta_info.txt. Fix: write one with `dalisr meta-info {source}`")
    items = [(entry.name, entry.key) for entry in read_meta_info(meta_path)]
    if not items:
        raise DalisrError(f"{meta_path} lists no image")
    return LoadPlan(source, "lmdb", dataroot or default_dataroot(source), items)


def _values(plan: LoadPlan) -> Iterator[tuple[str, bytes]]:
    if plan.kind == "disk":
        for name, _ in plan.items:
            yield name, read_bytes(os.path.join(plan.source, name))
        return
    with lmdb_env(plan.source).begin() as txn:
        for name, key in plan.items:
            value = txn.get(key.encode("ascii"))
            if value is None:
                raise DalisrError(f"key '{key}' is in {plan.source}/meta_info.txt but not in the LMDB. "
                                  "Fix: re-create the LMDB")
            yield name, value


def memcached_load(plan: LoadPlan, servers: list[str], *,
                   progress: Callable[[int], None] | None = None) -> LoadResult:
    """Put every value of ``plan`` into the cluster; names of values no server took are returned."""
    store = MemcachedStore(servers, plan.dataroot)
    result = LoadResult()
    try:
        for name, data in _values(plan):
            if store.put(name, data):
                result.stored += 1
            else:
                result.failed.append(name)
            if progress:
                progress(1)
    finally:
        store.close()
    if result.failed:
        log.warning("%d values were not stored in memcached", len(result.failed))
    return result
