"""Ordered parallel map for the prep tools: workers read and encode, the caller writes."""

from __future__ import annotations

import collections
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ..errors import DalisrError

T = TypeVar("T")
R = TypeVar("R")


def _ignore_sigint() -> None:
    # Ctrl-C is handled once, by the parent, which then terminates the pool
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def check_workers(workers: int) -> int:
    """``workers`` (0 means one per CPU core)."""
    if workers < 0:
        raise DalisrError(f"--workers must be 0 (one per core) or more, got {workers}")
    return workers or (os.cpu_count() or 1)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int = 1) -> Iterator[R]:
    """``map(fn, items)`` in input order, over ``workers`` processes when more than one.

    ``fn`` must be a module-level function (it is pickled). At most a few
    tasks per worker are in flight, so memory stays bounded however slow the
    consumer is. Leaving the loop early (an error, Ctrl-C) terminates the pool.
    """
    workers = check_workers(workers)
    if workers == 1:
        for item in items:
            yield fn(item)
        return
    # forkserver: forking a process that runs threads (a test runner, DALI) can leave a child
    # holding a lock no thread will release; fresh children from a clean server cannot
    pool = mp.get_context("forkserver").Pool(workers, initializer=_ignore_sigint)
    try:
        pending: collections.deque = collections.deque()
        for item in items:
            pending.append(pool.apply_async(fn, (item,)))
            if len(pending) >= 4 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        pool.close()
    finally:
        pool.terminate()
        pool.join()
