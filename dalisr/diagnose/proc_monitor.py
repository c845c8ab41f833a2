"""CPU and memory of a process, its threads and its workers, read from /proc (Linux); no DALI, no torch.

Used by :mod:`dalisr.diagnose.profile` and by ``tools/bench.py`` (which watches a
DataLoader's workers the same way).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_cpu(path: str) -> float:
    """utime + stime in seconds from a /proc stat file (0 if it is gone)."""
    try:
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of a live process."""
    return _stat_cpu(f"/proc/{pid}/stat")


def thread_group(name: str, is_main: bool) -> str:
    if is_main:
        return "python main thread"
    if name.startswith("[DALI][TP"):
        return "DALI operator threads"
    if name.startswith("[DALI]"):
        return "DALI executor + input threads"
    return "other threads"


def thread_cpu(pid: int | None = None) -> dict[str, float]:
    """CPU seconds of a process's threads, grouped by :func:`thread_group`."""
    pid = os.getpid() if pid is None else pid
    out: dict[str, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        group = thread_group(name, tid == str(pid))
        out[group] = out.get(group, 0.0) + _stat_cpu(f"/proc/{pid}/task/{tid}/stat")
    return out


def memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in bytes (0, 0 if it is gone)."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, hwm


def children(pid: int | None = None) -> list[int]:
    """Every live descendant of a process (DataLoader workers, DALI workers), from /proc."""
    pid = os.getpid() if pid is None else pid
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


class ProcessMonitor:
    """CPU and memory of this process plus the worker processes a callable names, from /proc.

    ``sample()`` (call it once per batch) tracks the peak of the summed RSS;
    the summed high-water marks (VmHWM) are read at the end. RSS counts shared
    pages (the LMDB page cache mapping, shared memory) once in every process
    that touches them, so both figures are upper bounds.
    """

    def __init__(self, workers: Callable[[], Iterable[int]]) -> None:
        self.workers = workers
        self.peak_rss = 0
        self.worker_pids: set[int] = set()

    def _pids(self) -> list[int]:
        pids = list(self.workers())
        self.worker_pids.update(pids)
        return [os.getpid(), *pids]

    def cpu(self) -> dict[str, float]:
        """CPU seconds now: ``main`` (this process) and ``workers`` (summed), ``threads`` by group."""
        pids = self._pids()
        return {"main": process_cpu(pids[0]), "workers": sum(process_cpu(p) for p in pids[1:]),
                "threads": thread_cpu(pids[0])}

    def sample(self) -> None:
        self.peak_rss = max(self.peak_rss, sum(memory(p)[0] for p in self._pids()))

    def hwm(self) -> tuple[int, int]:
        """(main's VmHWM, the workers' VmHWM summed) in bytes."""
        pids = self._pids()
        return memory(pids[0])[1], sum(memory(p)[1] for p in pids[1:])
