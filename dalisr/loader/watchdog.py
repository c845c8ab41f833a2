"""A watchdog on DALI's worker processes: a worker that dies stops the trainer with the reason.

When the out-of-memory killer (or anyone) SIGKILLs a DALI Python worker, it
may die holding the lock of a shared task queue, and the trainer's main
thread then waits for that lock forever. The watchdog waits on the workers'
process sentinels in a thread; when one dies while the loader runs, it
records why and, if the main thread is inside the loader, interrupts it with
a signal whose handler raises that error. Outside the loader the error is
raised at the loader's next call, never in the middle of the user's code.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection as mpc
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from ..errors import DalisrError
from ..processes import describe_exit

log = logging.getLogger(__name__)

T = TypeVar("T")

#: the signal that wakes the main thread (a real-time one: nothing else uses it)
WAKE_SIGNAL = signal.SIGRTMIN + 5 if hasattr(signal, "SIGRTMIN") else signal.SIGUSR2
_ARMED: set = set()  # watchdogs whose main thread is inside the loader (per process by nature)


def started_processes(start: Callable[[], T]) -> tuple[T, list[multiprocessing.Process]]:
    """Run ``start()`` and return its result and the child processes it started.

    DALI starts its Python workers through ``multiprocessing``; its own list
    of them is private, so they are found through multiprocessing's public
    ``active_children()``, before and after.
    """
    before = {p.pid for p in multiprocessing.active_children()}
    result = start()
    return result, [p for p in multiprocessing.active_children() if p.pid not in before]


def _await_exit_codes(dead: list[multiprocessing.Process], timeout: float = 2.0) -> None:
    """Wait until each dead process's exit code is known.

    DALI's observer thread polls the same Process objects: when its
    ``waitpid`` reaps a worker first, ours fails (ECHILD) and ``exitcode``
    stays None until the observer has stored the code. So poll it a little while.
    """
    deadline = time.monotonic() + timeout
    for proc in dead:
        while proc.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.005)


def _likely_cause(exitcode: int | None) -> str:
    if exitcode == -signal.SIGBUS:
        return ("a memory-mapped file it read (an LMDB's data.mdb) was truncated or changed while in use, or its "
                "disk failed. Fix: re-create or re-copy the LMDB, and do not rewrite it while training")
    oom = "most likely the out-of-memory killer (see dmesg). " if exitcode == -signal.SIGKILL else ""
    return (f"{oom}Fix: lower num_worker_per_gpu, batch_size_per_gpu or num_prefetch_queue, "
            "or give the job more memory")


def _on_wake(signum, frame) -> None:
    for dog in list(_ARMED):
        if dog.failure is not None:
            raise dog.failure


class WorkerWatchdog:
    """Watches ``processes``; :attr:`failure` is set once one of them dies unasked."""

    def __init__(self, processes: list[multiprocessing.Process], what: str) -> None:
        self.processes = list(processes)
        self.what = what
        self.failure: DalisrError | None = None
        self._stop_r, self._stop_w = multiprocessing.Pipe(duplex=False)
        self._main = threading.main_thread().ident if threading.current_thread() is threading.main_thread() else None
        self._thread = threading.Thread(target=self._watch, name="dalisr-worker-watchdog", daemon=True)
        if self._main is not None and signal.getsignal(WAKE_SIGNAL) in (signal.SIG_DFL, None, _on_wake):
            signal.signal(WAKE_SIGNAL, _on_wake)
        else:
            self._main = None  # cannot interrupt: the error comes at the loader's next call
        if self.processes:
            self._thread.start()

    def _watch(self) -> None:
        sentinels = {p.sentinel: p for p in self.processes}
        ready = mpc.wait([*sentinels, self._stop_r])
        if self._stop_r in ready:
            return
        dead = [sentinels[s] for s in ready if s in sentinels]
        _await_exit_codes(dead)
        # DALI's own observer SIGTERMs the others once one dies: name the one that died first
        proc = next((p for p in dead if p.exitcode not in (None, 0, -signal.SIGTERM)), dead[0])
        self.failure = DalisrError(f"a DALI worker process (pid {proc.pid}) of {self.what} died "
                                   f"({describe_exit(proc.exitcode)}); {_likely_cause(proc.exitcode)}")
        if proc.exitcode == 0 and self not in _ARMED:
            # a clean exit while no loader call waits: DALI stopping its pool (the program ending with the loader
            # open); a later loader call still raises the failure, but an error line now would only mislead
            log.debug("%s", self.failure)
            return
        log.error("%s", self.failure)
        # One wake is not always enough: the error raised in a Condition.wait can block again in its finally,
        # re-taking the queue lock the dead worker held. Each wake raises it anew at the blocking call, so
        # wake the main thread until it has left the loader (or the loader is closed).
        while self._main is not None and self in _ARMED:
            signal.pthread_kill(self._main, WAKE_SIGNAL)
            if self._stop_r.poll(0.25):
                return

    def check(self, timeout: float = 0.1) -> DalisrError | None:
        """The failure, if a worker is dead (DALI may raise before the watchdog has said why)."""
        if self.failure is None and self.processes and mpc.wait([p.sentinel for p in self.processes], timeout):
            self._thread.join(2.0)
        return self.failure

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """The block may be interrupted by the failure (the loader's own calls into DALI)."""
        if self.failure is not None:
            raise self.failure
        _ARMED.add(self)
        try:
            yield
        finally:
            _ARMED.discard(self)

    def stop(self) -> None:
        """Stop watching (before the workers are closed on purpose)."""
        _ARMED.discard(self)
        try:
            self._stop_w.send(None)
        except OSError:
            pass
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(5)
        for conn in (self._stop_r, self._stop_w):
            conn.close()

