"""Several stores of one backend read as one: traiNNer-redux's lists of LMDB (or memcached) data roots.

A key ``"{i}/{key}"`` reads ``key`` from the ``i``-th store. Folders on disk
need no such store: a :class:`~dalisr.storage.disk.DiskStore` with an empty
root reads keys that are whole paths.
"""

from __future__ import annotations

from ..errors import DalisrError
from .base import Store


def multi_key(index: int, key: str) -> str:
    """The key under which :class:`MultiStore` reads ``key`` of its ``index``-th store."""
    return f"{index}/{key}"


class MultiStore(Store):
    """The stores of a folder list, in order; values of one codec (the datasets pair them key by key)."""

    kind = "multi"

    def __init__(self, stores: list[Store]) -> None:
        if not stores:
            raise DalisrError("a list of data roots must hold at least one")
        self.stores = list(stores)

    def _split(self, key: str) -> tuple[Store, str]:
        head, _, rest = key.partition("/")
        if not head.isdigit() or int(head) >= len(self.stores):
            raise DalisrError(f"key '{key}' names no store of {self.describe()}")
        return self.stores[int(head)], rest

    def get(self, key: str) -> bytes:
        store, rest = self._split(key)
        return store.get(rest)

    def peek(self, key: str) -> bytes:
        store, rest = self._split(key)
        return store.peek(rest)

    def codec(self) -> str:
        codecs = {s.codec() for s in self.stores}
        if len(codecs) > 1:
            raise DalisrError(f"the stores of {self.describe()} hold values of different codecs "
                              f"({', '.join(sorted(codecs))}). Fix: convert them to one with `dalisr convert`")
        return codecs.pop()

    def describe(self) -> str:
        return ", ".join(s.describe() for s in self.stores)

    def close(self) -> None:
        for store in self.stores:
            store.close()
