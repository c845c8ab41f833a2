"""The storage interface: encoded bytes by key, and the key list where known."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Store(ABC):
    """A read-only source of encoded image bytes.

    Stores know nothing of DALI or of datasets. They are picklable and open
    their handles lazily, once per process, so they can be handed to DALI's
    parallel workers (fork or spawn) and to DataLoader workers alike.
    """

    #: the ``io_backend.type`` spelling of this store
    kind: str = ""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; DalisrError naming key and store if absent."""

    def peek(self, key: str) -> bytes:
        """``get`` for a one-off look from the main process (e.g. the format of the first value): leaves no
        handle open that the workers do not need. Most stores hold nothing, so it is ``get``."""
        return self.get(key)

    def codec(self) -> str:
        """How the values are stored: ``png`` (encoded image bytes, whatever the format) unless the store says
        ``raw``, ``jp2`` or ``png-seek`` (an LMDB's ``meta_info.txt``)."""
        return "png"

    def keys(self) -> list[str] | None:
        """Every key the store holds, sorted, or None where it cannot list them."""
        return None

    @abstractmethod
    def describe(self) -> str:
        """A short human name for messages, e.g. ``lmdb store /data/x.lmdb``."""

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release handles held by this process (a later get reopens them)."""

    def __repr__(self) -> str:
        return f"<{self.describe()}>"
