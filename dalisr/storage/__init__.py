"""Storage backends, chosen by ``io_backend.type`` as BasicSR's configs spell it."""

from __future__ import annotations

from ..errors import DalisrError
from .base import Store
from .disk import DiskStore
from .lmdb import LmdbStore
from .memcached import MemcachedStore, read_server_list

BACKENDS = ("disk", "lmdb", "memcached")


def memcached_servers(io_backend: dict) -> list[str]:
    """Servers from ``io_backend.servers`` (a list) or ``io_backend.server_list_cfg`` (a file)."""
    servers = io_backend.get("servers")
    if servers:
        if isinstance(servers, str):
            servers = [s for s in servers.replace(",", " ").split()]
        return list(servers)
    cfg = io_backend.get("server_list_cfg")
    if cfg:
        return read_server_list(cfg)
    raise DalisrError("io_backend (memcached) needs servers: a list of host:port, or server_list_cfg: a file of them")


def open_store(io_backend: dict, root: str, role: str = "dataroot") -> Store:
    """The store for one ``dataroot_*`` under the given ``io_backend`` options."""
    kind = io_backend.get("type", "disk")
    if kind == "disk":
        return DiskStore(root, role)
    if kind == "lmdb":
        return LmdbStore(root, role)
    if kind == "memcached":
        return MemcachedStore(memcached_servers(io_backend), root, role,
                              retry_after=float(io_backend.get("retry_after", 5.0)))
    raise DalisrError(f"io_backend.type '{kind}' is not known. Fix: use one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "DiskStore", "LmdbStore", "MemcachedStore", "Store", "memcached_servers", "open_store"]
