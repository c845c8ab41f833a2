"""Ordered parallel map for the prep tools: workers read and encode, the caller writes.

Each worker has its own pipe and gets one task at a time, so no lock is
shared between processes: ``multiprocessing.Pool`` shares one result queue
whose lock a worker holds while it writes a large result, and its
``terminate()`` then waits on that lock forever (Ctrl-C during
``create-lmdb -j 8`` never ended). Here leaving the loop for any reason
kills the workers outright, which cannot block.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ..errors import DalisrError
from ..processes import describe_exit
from .safe_output import deferred_signals

T = TypeVar("T")
R = TypeVar("R")


def check_workers(workers: int) -> int:
    """``workers`` (0 means one per CPU core)."""
    if workers < 0:
        raise DalisrError(f"--workers must be 0 (one per core) or more, got {workers}")
    return workers or (os.cpu_count() or 1)


def _worker_main(fn: Callable, conn) -> None:
    # Ctrl-C is handled once, by the parent, which then kills the workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):  # the parent is gone or done
            return
        if job is None:
            return
        seq, item = job
        try:
            reply = ("ok", seq, fn(item))
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
            reply = ("err", seq, exc, traceback.format_exc())
        try:
            conn.send(reply)
        except (BrokenPipeError, EOFError):
            return
        except Exception as exc:  # noqa: BLE001 - the result or error does not pickle
            conn.send(("err", seq, DalisrError(f"a worker could not send its result back: {exc}"), ""))


class _Workers:
    """The worker processes, each with its own pipe and at most one task in flight."""

    def __init__(self, fn: Callable, count: int) -> None:
        # forkserver: forking a process that runs threads (a test runner, DALI) can leave a child
        # holding a lock no thread will release; fresh children from a clean server cannot
        ctx = mp.get_context("forkserver")
        self.procs = []
        self.conns = []
        for _ in range(count):
            parent, child = ctx.Pipe(duplex=True)
            proc = ctx.Process(target=_worker_main, args=(fn, child), daemon=True)
            proc.start()
            child.close()
            self.procs.append(proc)
            self.conns.append(parent)
        self.busy: dict[int, int] = {}  # worker -> task sequence number

    def idle(self) -> list[int]:
        return [w for w in range(len(self.procs)) if w not in self.busy]

    def send(self, worker: int, seq: int, item) -> None:
        self.conns[worker].send((seq, item))  # the worker waits in recv: this cannot block for long
        self.busy[worker] = seq

    def receive(self, timeout: float | None) -> list[tuple]:
        """Replies that arrived (waiting up to ``timeout``); DalisrError if a worker died."""
        ready_conns = {self.conns[w]: w for w in self.busy}
        sentinels = {p.sentinel: w for w, p in enumerate(self.procs)}
        ready = mpc.wait(list(ready_conns) + list(sentinels), timeout)
        replies = []
        for obj in ready:
            if obj in ready_conns:
                w = ready_conns[obj]
                try:
                    replies.append(obj.recv())
                except (EOFError, OSError):
                    continue  # died mid-send: its sentinel says how
                del self.busy[w]
        for obj in ready:
            if obj in sentinels and obj not in ready_conns:
                proc = self.procs[sentinels[obj]]
                proc.join(1)
                raise DalisrError(
                    f"a worker process died ({describe_exit(proc.exitcode)}), probably out of memory. "
                    "Fix: use fewer --workers (-j) or free memory, then run again")
        return replies

    def kill(self) -> None:
        """Stop every worker now (SIGKILL: nothing they hold can make this wait)."""
        for proc in self.procs:
            if proc.exitcode is None:
                proc.kill()
        for proc in self.procs:
            proc.join(5)
        for conn in self.conns:
            conn.close()

    def stop(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc in self.procs:
            proc.join(5)
        self.kill()


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int = 1) -> Iterator[R]:
    """``map(fn, items)`` in input order, over ``workers`` processes when more than one.

    ``fn`` must be a module-level function (it is pickled). At most a few
    tasks per worker are done ahead of the consumer, so memory stays bounded
    however slow it is. Leaving the loop early (an error, Ctrl-C, the
    consumer stopping) kills the workers at once; a worker that dies is an
    error naming its exit signal.
    """
    workers = check_workers(workers)
    if workers == 1:
        for item in items:
            yield fn(item)
        return
    pool = _Workers(fn, workers)
    finished = False
    try:
        source = iter(items)
        window = 4 * workers
        done: dict[int, R] = {}
        sent = next_out = 0
        exhausted = False
        while True:
            while not exhausted and len(pool.busy) < workers and sent < next_out + window:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                pool.send(pool.idle()[0], sent, item)
                sent += 1
            if next_out in done:
                yield done.pop(next_out)
                next_out += 1
                continue
            if exhausted and next_out >= sent:
                break
            for reply in pool.receive(None):
                if reply[0] == "err":
                    exc = reply[2]
                    if not isinstance(exc, DalisrError) and reply[3]:
                        exc.add_note(f"in a worker process:\n{reply[3]}")
                    raise exc
                done[reply[1]] = reply[2]
        finished = True
    finally:
        with deferred_signals():  # a second Ctrl-C must not cut this short
            if finished:
                pool.stop()
            else:
                pool.kill()
