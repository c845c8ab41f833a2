"""A raw LMDB streams: training reads fault in only the pages of each crop window, never whole values.

That is what lets a raw LMDB larger than RAM train: the page cache holds the
windows being read, not the data set. Checked with the kernel's own record of
which pages of ``data.mdb`` are resident (``mincore``) after evicting the file.
"""

from __future__ import annotations

import ctypes
import mmap
import os

import pytest

from dalisr import build_dataloader
from dalisr.prep.convert import convert_lmdb

PAGE = mmap.PAGESIZE


def resident_bytes(path: str) -> int:
    """How much of ``path`` is in the page cache: ``mincore`` over a fresh read-only mapping of it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = os.path.getsize(path)
    pages = (size + PAGE - 1) // PAGE
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            pytest.skip(f"mmap failed: {os.strerror(ctypes.get_errno())}")
        try:
            vec = (ctypes.c_ubyte * pages)()
            if libc.mincore(addr, size, vec) != 0:
                pytest.skip(f"mincore failed: {os.strerror(ctypes.get_errno())}")
            return sum(v & 1 for v in vec) * PAGE
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def evict(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def test_training_reads_touch_only_the_windows(sample_set, tmp_path):
    gt, lq = str(tmp_path / "gt_raw.lmdb"), str(tmp_path / "lq_raw.lmdb")
    convert_lmdb(sample_set.gt_lmdb, gt, "raw")
    convert_lmdb(sample_set.lq_lmdb(4), lq, "raw")
    data = os.path.join(gt, "data.mdb")
    evict(data)
    if resident_bytes(data) > os.path.getsize(data) // 10:
        pytest.skip("this file system keeps the file cached (tmpfs?): residency cannot show what was read")
    value_bytes = 480 * 480 * 3  # one GT sub-image
    opt = {"type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq, "io_backend": {"type": "lmdb"},
           "gt_size": 64, "scale": 4, "use_hflip": True, "use_rot": True, "batch_size_per_gpu": 4,
           "num_worker_per_gpu": 1, "num_threads": 1}
    loader = build_dataloader(opt, device="cpu", seed=1)
    batches = list(loader)  # one epoch: every one of the 8 GT values is read (DALI may prefetch the next)
    loader.close()
    assert len(batches) == 2
    touched = resident_bytes(data)
    # a 64 x 64 window spans 64 rows of 1440 bytes (~92 KB, 23 pages) of a 691 KB value: ~0.8 MB an epoch,
    # ~1.6 MB with the next epoch prefetched, where reading whole values brings in all 8 x 691 KB = 5.5 MB
    assert 0 < touched < 8 * value_bytes // 2, f"{touched} bytes of {data} resident after reading 8 windows"
