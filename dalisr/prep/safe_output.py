"""Outputs that are complete or absent, whatever stops the writer.

The prep tools write into a staging folder beside the output and rename it at
the end. What can stop them, and what this module does about it:

* Ctrl-C / SIGTERM: SIGTERM is turned into an exception (:func:`signals_as_exceptions`),
  so the same cleanup runs as for Ctrl-C; cleanup itself runs with both held back
  (:func:`deferred_signals`), so a second Ctrl-C cannot cut it short.
* a full or failing disk: free space is checked against an estimate before
  anything is written (:func:`check_free_space`), and ENOSPC / EIO while writing
  become one message with the space needed (:func:`disk_error`).
* SIGKILL, a power cut: nothing can run; the next run removes the staging
  folders of runs that are no longer alive (:func:`remove_stale`).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import logging
import os
import shutil
import signal
import threading
from collections.abc import Iterator

from ..errors import DalisrError
from ..processes import pid_alive

log = logging.getLogger(__name__)

_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS)


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP) as an exception: the cleanup of Ctrl-C runs for it too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Inside the block SIGTERM and SIGHUP raise :class:`Terminated` (where no handler was set)."""
    if not _in_main_thread():
        yield
        return

    def raise_terminated(signum, frame):
        raise Terminated(signum)

    saved = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            saved[sig] = signal.signal(sig, raise_terminated)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP back during cleanup; they take effect when the block ends.

    Masking the signal in the main thread is not enough (the kernel then hands it to
    another thread, and Python still runs its handler in the main thread), so the
    handlers are swapped for one that only records the signal, and it is raised again
    once the old handlers are back.
    """
    if not _in_main_thread():
        yield
        return
    caught: list[int] = []

    def record(signum, frame):
        caught.append(signum)

    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        old = signal.getsignal(sig)
        if old is not None and old is not signal.SIG_IGN:
            saved[sig] = signal.signal(sig, record)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
        if caught:
            signal.raise_signal(caught[0])


def staging_name(out: str, pid: int | None = None) -> str:
    """``out.partial-PID``: where ``out`` is built by process ``pid`` (this one by default)."""
    return f"{out}.partial-{os.getpid() if pid is None else pid}"


def remove_stale(out: str) -> list[str]:
    """Remove ``out.partial-PID`` folders left by runs that are no longer alive (or by this process)."""
    removed = []
    for path in glob.glob(glob.escape(out) + ".partial-*"):
        pid = path.rsplit("-", 1)[-1]
        if not pid.isdigit() or (int(pid) != os.getpid() and pid_alive(int(pid))):
            continue
        with deferred_signals():
            shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            log.warning("removed %s, left by an interrupted earlier run", path)
            removed.append(path)
    return removed


def remove_quietly(path: str) -> None:
    """Remove a staging folder during cleanup, with Ctrl-C held back until it is gone."""
    with deferred_signals():
        shutil.rmtree(path, ignore_errors=True)


def _mb(n: float) -> str:
    if n < 1e6:
        return f"{n / 1e3:.0f} KB"
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def free_bytes(folder: str) -> int:
    return shutil.disk_usage(folder).free


def check_free_space(out: str, needed: int, what: str) -> None:
    """Refuse to start writing ``out`` when its disk has less free space than ``needed`` bytes (an estimate)."""
    folder = os.path.dirname(os.path.abspath(out))
    try:
        free = free_bytes(folder)
    except OSError:
        return  # cannot tell: the write will say
    if needed > free:
        raise DalisrError(
            f"not enough free space for {what} {out}: it needs about {_mb(needed)}, {_mb(free)} is free on "
            f"{folder}. Nothing was written. Fix: free at least {_mb(needed - free)} there, or write elsewhere")


def is_disk_error(exc: BaseException) -> bool:
    """An error of the disk being written (full, over quota, failing, read-only), also as LMDB reports it."""
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
        return True
    text = str(exc)
    return type(exc).__module__ == "lmdb" and any(
        os.strerror(code) in text for code in _DISK_ERRNOS)


def disk_error(exc: BaseException, out: str, needed: int | None, written: int | None = None,
               items: str = "") -> DalisrError:
    """A full or failing disk while writing ``out``, as one message: what happened and the space needed.

    ``needed`` is the estimate made before writing, ``written`` what had been
    written (or was to be written) when the disk refused: the space needed is
    at least the larger of the two.
    """
    folder = os.path.dirname(os.path.abspath(out))
    try:
        free = f"{_mb(free_bytes(folder))} free there now"
    except OSError:
        free = "free space unknown"
    cause = getattr(exc, "strerror", None) or str(exc).split(":")[-1].strip() or type(exc).__name__
    need = max(needed or 0, written or 0)
    size = f"the output needs more than {_mb(need)}" if need else "see how much it needs with df"
    return DalisrError(
        f"writing {out} failed{items}: {cause}: the disk is full or failing ({size}; {free} on {folder}). "
        "Nothing was left at the output. Fix: free space (or write elsewhere) and run again")


def tree_bytes(paths: list[str]) -> int:
    """Total size of the files ``paths`` (missing ones count 0)."""
    total = 0
    for path in paths:
        try:
            total += os.path.getsize(path)
        except OSError:
            pass
    return total
