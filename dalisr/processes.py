"""Facts about other processes that several parts need: is a pid alive, how did a process end."""

from __future__ import annotations

import os
import signal


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
