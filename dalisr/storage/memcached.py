"""Memcached as a read-through cache in front of the files under ``dataroot``."""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
import zlib

from ..errors import DalisrError
from ..formats.png import is_png, png_intact
from .base import Store
from .disk import DiskStore
from .hashing import memcached_key, owner

log = logging.getLogger(__name__)

_CHUNK_MAGIC = b"\x00dalisr-chunked\x00"
_CHUNK_HEAD = struct.Struct(">IQI")  # chunk count, total bytes, crc32 of the whole value
DEFAULT_ITEM_LIMIT = 1024 * 1024
# room for memcached's item header, the key and the CAS field inside one item
_ITEM_OVERHEAD = 1024
MAX_NAME_ROOM = 256  # bytes kept for a chunk key (the name plus "#chunkI/N")


def parse_server(spec: str) -> str:
    """Normalise ``host:port`` (port defaults to 11211)."""
    spec = spec.strip()
    if not spec:
        raise DalisrError("empty memcached server address")
    host, sep, port = spec.rpartition(":")
    if not sep:
        host, port = spec, "11211"
    if not port.isdigit():
        raise DalisrError(f"memcached server '{spec}' has no numeric port. Fix: write it as host:port")
    return f"{host}:{int(port)}"


def read_server_list(path: str) -> list[str]:
    """``host:port`` per line; blank lines and ``#`` comments are skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.split("#", 1)[0].strip() for line in f]
    except FileNotFoundError:
        raise DalisrError(
            f"io_backend.server_list_cfg: {path} does not exist. Fix: write one host:port per line, "
            "or list them under io_backend.servers"
        ) from None
    servers = [parse_server(line) for line in lines if line]
    if not servers:
        raise DalisrError(f"io_backend.server_list_cfg: {path} lists no server (expected host:port lines)")
    return servers


class MemcachedStore(Store):
    """Values live in a memcached cluster; a miss reads the file and stores it.

    Keys are placed by rendezvous hashing, so every process and machine agrees
    on a key's server and a new server takes over only its own share. A server
    that does not answer is skipped (one warning, reads go to disk) and asked
    again after ``retry_after`` seconds. Values over the server's item limit
    are stored in chunks; nothing is silently dropped.
    """

    kind = "memcached"

    def __init__(
        self,
        servers: list[str],
        root: str | os.PathLike,
        role: str = "dataroot",
        *,
        retry_after: float = 5.0,
        timeout: float = 2.0,
    ) -> None:
        if not servers:
            raise DalisrError("io_backend (memcached) names no server. Fix: set server_list_cfg or servers")
        self.servers = [parse_server(s) for s in servers]
        self.disk = DiskStore(root, role)
        self.root = self.disk.root
        self.role = role
        self.retry_after = retry_after
        self.timeout = timeout
        self._reset_process_state()

    def _reset_process_state(self) -> None:
        self._clients: dict[str, object] = {}
        self._down_until: dict[str, float] = {}
        self._item_limit: int | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.stats = {"hits": 0, "misses": 0, "server_errors": 0}

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k != "stats"}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reset_process_state()

    # -- connections -------------------------------------------------------
    def _client(self, server: str):
        if self._pid != os.getpid():
            self._reset_process_state()
        client = self._clients.get(server)
        if client is None:
            from pymemcache.client.base import Client

            host, _, port = server.rpartition(":")
            client = Client((host, int(port)), connect_timeout=min(self.timeout, 1.0), timeout=self.timeout,
                            no_delay=True, default_noreply=False)
            self._clients[server] = client
        return client

    def _alive(self) -> list[str]:
        now = time.monotonic()
        alive = []
        for server in self.servers:
            until = self._down_until.get(server)
            if until is None:
                alive.append(server)
            elif now >= until:
                alive.append(server)  # try again; a failure marks it down once more
        return alive

    def _mark_down(self, server: str, exc: BaseException) -> None:
        self.stats["server_errors"] += 1
        first = server not in self._down_until
        self._down_until[server] = time.monotonic() + self.retry_after
        client = self._clients.pop(server, None)
        if client is not None:
            try:
                client.close()
            except Exception:
                pass
        if first:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.warning("memcached server %s is not answering (%s); its keys are read from %s until it is back",
                        server, reason, self.disk.describe())

    def _mark_up(self, server: str) -> None:
        if self._down_until.pop(server, None) is not None:
            log.warning("memcached server %s answers again; using it", server)

    def _call(self, name: str, method: str, *args, **kwargs):
        """Run a command on ``name``'s owner; (server, result) or (None, None) if it is down."""
        from pymemcache.exceptions import MemcacheClientError, MemcacheError

        alive = self._alive()
        if not alive:
            return None, None
        # the owner among all servers, so a down server's keys are not moved onto others
        server = owner(self.servers, name)
        if server not in alive:
            return None, None
        try:
            result = getattr(self._client(server), method)(*args, **kwargs)
        except MemcacheClientError as exc:
            raise DalisrError(f"memcached refused key for '{name}' on {server}: {exc}") from None
        except (OSError, MemcacheError) as exc:
            self._mark_down(server, exc)
            return None, None
        self._mark_up(server)
        return server, result

    def item_limit(self) -> int:
        """The smallest ``item_size_max`` of the reachable servers (1 MiB if none says)."""
        if self._item_limit is None:
            limits = []
            for server in self._alive():
                try:
                    settings = self._client(server).stats("settings")
                    limits.append(int(settings.get(b"item_size_max", DEFAULT_ITEM_LIMIT)))
                except Exception as exc:  # noqa: BLE001 - a down server just has no say
                    self._mark_down(server, exc)
            if not limits:
                return DEFAULT_ITEM_LIMIT
            self._item_limit = min(limits)
        return self._item_limit

    # -- values --------------------------------------------------------------
    def name(self, key: str) -> str:
        """The cache name of ``key``: its file path as the config spells dataroot."""
        return os.path.normpath(os.path.join(self.root, key))

    def _fetch(self, name: str) -> bytes | None:
        mkey = memcached_key(name)
        _, value = self._call(mkey, "get", mkey)
        if value is None or not value.startswith(_CHUNK_MAGIC):
            return value
        head = value[len(_CHUNK_MAGIC):]
        if len(head) != _CHUNK_HEAD.size:
            return None
        count, total, crc = _CHUNK_HEAD.unpack(head)
        parts = []
        for i in range(count):
            ckey = memcached_key(f"{name}#chunk{i}/{count}")
            _, part = self._call(ckey, "get", ckey)
            if part is None:
                return None  # a chunk was evicted or its server is down: treat as a miss
            parts.append(part)
        data = b"".join(parts)
        if len(data) != total or zlib.crc32(data) != crc:
            return None
        return data

    def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` for ``key`` (chunked when over the item limit); True if the owners took it."""
        name = self.name(key)
        mkey = memcached_key(name)
        room = self.item_limit() - _ITEM_OVERHEAD - len(mkey)
        if len(data) <= room:
            server, ok = self._call(mkey, "set", mkey, data, noreply=False)
            return bool(server and ok)
        room = self.item_limit() - _ITEM_OVERHEAD - MAX_NAME_ROOM
        count = (len(data) + room - 1) // room
        for i in range(count):
            ckey = memcached_key(f"{name}#chunk{i}/{count}")
            server, ok = self._call(ckey, "set", ckey, data[i * room:(i + 1) * room], noreply=False)
            if not (server and ok):
                return False
        head = _CHUNK_MAGIC + _CHUNK_HEAD.pack(count, len(data), zlib.crc32(data))
        server, ok = self._call(mkey, "set", mkey, head, noreply=False)
        return bool(server and ok)

    def get(self, key: str) -> bytes:
        data = self._fetch(self.name(key))
        if data is not None and self._damaged(key, data):
            data = None  # the cache is not the source of truth: read the file and store it again
        if data is not None:
            self.stats["hits"] += 1
            return data
        self.stats["misses"] += 1
        data = self.disk.get(key)
        self.put(key, data)
        return data

    def _damaged(self, key: str, data: bytes) -> bool:
        """A cached PNG whose chunk CRCs fail (or a .png key holding no PNG): dropped, warned about once."""
        if is_png(data):
            if png_intact(data):
                return False
        elif not key.lower().endswith(".png"):
            return False  # other formats carry no cheap check; the decoder will judge
        self.stats["damaged"] = self.stats.get("damaged", 0) + 1
        if self.stats["damaged"] == 1:
            log.warning("memcached held a damaged value for '%s' (%d bytes); it was read again from %s and stored "
                        "again (further damaged values are replaced silently)", key, len(data), self.disk.describe())
        return True

    def keys(self) -> list[str]:
        return self.disk.keys()

    def describe(self) -> str:
        return f"memcached store {','.join(self.servers)} over {self.root}"

    def close(self) -> None:
        for client in self._clients.values():
            try:
                client.close()
            except Exception:
                pass
        self._clients.clear()
