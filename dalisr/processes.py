"""Facts about processes that several stages need: is a pid alive, how did a process end, and a worker's
watch on its parent."""

from __future__ import annotations

import os
import signal
import threading
import time


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a process of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_exit(exitcode: int | None) -> str:
    """``killed by SIGKILL`` / ``exit status 3`` for a process's exit code (None: still running or unknown)."""
    if exitcode is None:
        return "its exit status is unknown"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


def exit_with_parent(parent_pid: int, interval: float = 1.0) -> None:
    """In a worker process: exit as soon as ``parent_pid`` is gone (even if it was SIGKILLed).

    A daemon thread polls the parent pid; once the worker has been re-parented
    it exits without cleanup, so an out-of-memory kill of the trainer does not
    leave DALI workers running forever.
    """
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="dalisr-parent-watch", daemon=True).start()
