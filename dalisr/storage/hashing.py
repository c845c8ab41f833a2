"""Key naming and server choice for memcached: valid keys, stable placement."""

from __future__ import annotations

import hashlib

MAX_KEY_BYTES = 250
_MAPPED_PREFIX = "dalisr:sha256:"


def memcached_key(name: str) -> str:
    """A key memcached accepts for ``name``, the same on every machine and run.

    Names that are already valid (ASCII without spaces or control characters,
    at most 250 bytes) are used as they are, so other tools can read them;
    anything else becomes a prefixed SHA-256 of its UTF-8 bytes.
    """
    raw = name.encode("utf-8")
    if len(raw) <= MAX_KEY_BYTES and all(0x21 <= b <= 0x7E for b in raw) and not name.startswith(_MAPPED_PREFIX):
        return name
    return _MAPPED_PREFIX + hashlib.sha256(raw).hexdigest()


def _score(server: str, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{server}\0{key}".encode(), digest_size=8).digest(), "big")


def owner(servers: list[str], key: str) -> str:
    return max(servers, key=lambda s: _score(s, key))
