"""A million store keys in two arrays: their UTF-8 bytes back to back, and where each starts.

A Python list of a million keys is a million objects: ~60 MB, seconds to
pickle into a spawned worker, and work for the garbage collector. A
:class:`KeyTable` is two flat arrays (:class:`~dalisr.datasets.shared.SharedArrays`,
so spawned workers map them from one shared file); ``table[i]`` decodes one
key on demand, which is all a sample read needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

import numpy as np

from .shared import SharedArrays


def _offsets(lengths: np.ndarray) -> np.ndarray:
    total = int(lengths.sum()) if len(lengths) else 0
    offsets = np.zeros(len(lengths) + 1, dtype=np.uint32 if total < 2**32 else np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


class KeyTable(Sequence):
    """An immutable sequence of strings stored as ``blob`` (uint8) + ``offsets`` (n + 1 positions)."""

    def __init__(self, arrays: SharedArrays) -> None:
        self.arrays = arrays
        self._bind()

    def _bind(self) -> None:
        self._blob = self.arrays["blob"]
        self._offsets = self.arrays["offsets"]
        self._data = memoryview(self._blob)

    @classmethod
    def from_strings(cls, strings: Sequence[str]) -> KeyTable:
        n = len(strings)
        text = "".join(strings)
        data = text.encode("utf-8")
        if len(data) == len(text):  # ASCII: character counts are byte counts
            lengths = np.fromiter(map(len, strings), dtype=np.int64, count=n)
        else:
            parts = [s.encode("utf-8") for s in strings]
            lengths = np.fromiter(map(len, parts), dtype=np.int64, count=n)
        blob = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, np.uint8)
        return cls(SharedArrays({"blob": blob, "offsets": _offsets(lengths)}))

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        start, end = self._offsets[index:index + 2].tolist()
        return str(self._data[start:end], "utf-8")

    def __iter__(self) -> Iterator[str]:
        return iter(self.tolist())

    def tolist(self) -> list[str]:
        """Every key as a Python string (for checks and tests; a sample read needs only ``table[i]``)."""
        text = self._blob.tobytes()
        bounds = self._offsets.tolist()
        if text.isascii():
            s = text.decode("ascii")
            return [s[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        return [text[a:b].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:])]

    def digest(self) -> str:
        """A hash of the keys and their order (blake2b of the bytes and the lengths), without decoding one."""
        h = hashlib.blake2b(digest_size=16)
        h.update(len(self).to_bytes(8, "little"))
        h.update(np.diff(self._offsets.astype(np.int64)).astype("<i8").tobytes())
        h.update(self._blob.tobytes())
        return h.hexdigest()

    def __getstate__(self) -> dict:
        self.arrays.publish()
        self._bind()  # this process reads the shared copy too (the private one can go)
        return {"arrays": self.arrays}

    def __setstate__(self, state: dict) -> None:
        self.arrays = state["arrays"]
        self._bind()

    def __eq__(self, other) -> bool:
        if isinstance(other, KeyTable):
            return np.array_equal(self._offsets, other._offsets) and np.array_equal(self._blob, other._blob)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
