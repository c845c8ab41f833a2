"""Where each value of a read-only LMDB lies in ``data.mdb``, found without reading the values.

py-lmdb touches every page of a value it returns (``preload``, so that page
faults happen with the GIL released), even when it returns a zero-copy
buffer. For the raw codec that turns a 92 KB crop window into a 691 KB read
per sample: a raw LMDB larger than RAM would read 7x what it needs. This map
walks LMDB's own B-tree (branch and leaf pages only; a few hundred pages for
DIV2K) once per process and hands out views into a separate read-only
mapping of ``data.mdb`` with random-access advice: a window then faults in
only the pages of its rows.

The page layout is LMDB's stable on-disk format (``mdb.c``: MDB_page,
MDB_meta, MDB_node). Anything unexpected (another version, duplicate-key
databases, page counts that differ from LMDB's own ``stat``) makes
:func:`map_values` return None and callers keep using py-lmdb.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct

log = logging.getLogger(__name__)

MDB_MAGIC = 0xBEEFC0DE
MDB_DATA_VERSION = 1
PAGEHDRSZ = 16
NODESIZE = 8
P_BRANCH, P_LEAF, P_META = 0x01, 0x02, 0x08
F_BIGDATA, F_SUBDATA, F_DUPDATA = 0x01, 0x02, 0x04
P_INVALID = 0xFFFFFFFFFFFFFFFF


class LayoutError(Exception):
    """The file is not laid out as this reader expects."""


class ValueMap:
    """key -> zero-copy view of its value in a private read-only mapping of ``data.mdb``."""

    def __init__(self, path: str, mm: mmap.mmap, where: dict[bytes, tuple[int, int]]) -> None:
        self.path = path
        self._mm = mm
        self._view = memoryview(mm)
        self._where = where

    def __len__(self) -> int:
        return len(self._where)

    def view(self, key: bytes) -> memoryview | None:
        """The value's bytes as a view (nothing read until used), or None if the key is not in the map."""
        at = self._where.get(key)
        if at is None:
            return None
        offset, size = at
        return self._view[offset:offset + size]


def _meta(buf, offset: int) -> tuple[int, int, int, int]:
    """(page size, main root, txnid, flags) of the meta page at ``offset``."""
    if len(buf) < offset + 152:
        raise LayoutError("file too short for a meta page")
    (flags,) = struct.unpack_from("<H", buf, offset + 10)
    magic, version = struct.unpack_from("<II", buf, offset + 16)
    if not flags & P_META or magic != MDB_MAGIC or version != MDB_DATA_VERSION:
        raise LayoutError(f"no LMDB meta page at {offset} (magic {magic:#x}, version {version})")
    (psize,) = struct.unpack_from("<I", buf, offset + 40)
    main_flags, _depth = struct.unpack_from("<HH", buf, offset + 92)
    (root,) = struct.unpack_from("<Q", buf, offset + 128)
    (txnid,) = struct.unpack_from("<Q", buf, offset + 144)
    return psize, root, txnid, main_flags


def _walk(buf, psize: int, root: int) -> tuple[dict[bytes, tuple[int, int]], dict[str, int]]:
    """key -> (offset, size) of every value, and the page counts met on the way (as ``mdb_stat`` has them)."""
    where: dict[bytes, tuple[int, int]] = {}
    counts = {"branch_pages": 0, "leaf_pages": 0, "overflow_pages": 0, "entries": 0}
    if root == P_INVALID:
        return where, counts
    pages = len(buf) // psize
    stack, seen = [root], set()
    while stack:
        pgno = stack.pop()
        if pgno in seen or not 2 <= pgno < pages:
            raise LayoutError(f"page {pgno} out of range or visited twice")
        seen.add(pgno)
        base = pgno * psize
        flags, lower = struct.unpack_from("<HH", buf, base + 10)
        count = (lower - PAGEHDRSZ) // 2
        if not 0 <= count <= psize // 2:
            raise LayoutError(f"page {pgno}: bad node count")
        ptrs = struct.unpack_from(f"<{count}H", buf, base + PAGEHDRSZ)
        counts["branch_pages" if flags & P_BRANCH else "leaf_pages"] += 1
        for ptr in ptrs:
            node = base + ptr
            lo, hi, nflags, ksize = struct.unpack_from("<HHHH", buf, node)
            if flags & P_BRANCH:
                stack.append(lo | hi << 16 | nflags << 32)
            elif flags & P_LEAF:
                if nflags & (F_SUBDATA | F_DUPDATA):
                    raise LayoutError("sub-databases or duplicate keys are not plain key/value data")
                key = bytes(buf[node + NODESIZE:node + NODESIZE + ksize])
                size = lo | hi << 16
                if nflags & F_BIGDATA:
                    (overflow,) = struct.unpack_from("<Q", buf, node + NODESIZE + ksize)
                    offset = overflow * psize + PAGEHDRSZ
                    counts["overflow_pages"] += (PAGEHDRSZ + size + psize - 1) // psize
                else:
                    offset = node + NODESIZE + ksize
                if offset + size > len(buf):
                    raise LayoutError(f"value of {key!r} runs past the end of the file")
                where[key] = (offset, size)
                counts["entries"] += 1
            else:
                raise LayoutError(f"page {pgno} is neither a branch nor a leaf (flags {flags:#x})")
    return where, counts


def map_values(path: str, stat: dict[str, int] | None = None) -> ValueMap | None:
    """The value map of the LMDB folder ``path``, or None where its layout is not the expected one.

    ``stat`` is py-lmdb's ``Environment.stat()`` of the same file: the walk
    must meet exactly its page size and its branch, leaf and overflow page and
    entry counts (no value is read to check).
    """
    data = os.path.join(path, "data.mdb")
    try:
        with open(data, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        log.warning("cannot map %s (%s): reading its values through py-lmdb", data, exc)
        return None
    if hasattr(mmap, "MADV_RANDOM"):
        mm.madvise(mmap.MADV_RANDOM)  # a window's page fault reads that page, not its neighbours
    try:
        psize = _meta(mm, 0)[0]
        if psize & (psize - 1) or not 512 <= psize <= 65536:
            raise LayoutError(f"page size {psize}")
        metas = [_meta(mm, 0), _meta(mm, psize)]
        _, root, _, main_flags = max(metas, key=lambda m: m[2])  # the newer commit
        if main_flags & 0x04:  # MDB_DUPSORT
            raise LayoutError("a DUPSORT database")
        where, counts = _walk(mm, psize, root)
        if stat is not None:
            counts["psize"] = psize
            differ = {k: (v, stat.get(k)) for k, v in counts.items() if stat.get(k) != v}
            if differ:
                raise LayoutError(f"the walk and LMDB's stat disagree (walk, stat): {differ}")
    except (LayoutError, struct.error) as exc:
        log.warning("%s is not laid out as expected (%s): reading its values through py-lmdb", data, exc)
        mm.close()
        return None
    return ValueMap(path, mm, where)
