"""What every command shares: turning library errors into clean exits, progress bars."""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable

import click
from tqdm import tqdm

from ..errors import DalisrError
from ..prep.safe_output import signals_as_exceptions


def user_errors(fn: Callable) -> Callable:
    """Show a DalisrError as ``Error: ...`` with exit status 1, not a traceback.

    SIGTERM and SIGHUP stop a command as Ctrl-C does (their cleanup runs: no
    half-written output is left), and either ends with one line and the
    shell's status for that signal (130 for Ctrl-C, 143 for SIGTERM).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with signals_as_exceptions():
                return fn(*args, **kwargs)
        except DalisrError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt as exc:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # cleanup is done: a second Ctrl-C has nothing to stop
            signum = getattr(exc, "signum", signal.SIGINT)
            name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            click.echo(f"Stopped by {name}: no half-written output was left behind; run the command again", err=True)
            sys.exit(128 + signum)

    return wrapper


def progress(total: int | None, desc: str, unit: str = "img", unit_scale: bool = False) -> tqdm:
    """A progress bar on stderr that stays quiet when stderr is not a terminal and nothing is long."""
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, dynamic_ncols=True, leave=True)


# -- options the data commands share ----------------------------------------------------------------------
_WORKERS_HELP = "Processes working on images side by side (0 = one per CPU core; 1 = this process only)."


def workers_option(default: int = 0):
    return click.option("--workers", "-j", type=click.IntRange(min=0), default=default, show_default=True,
                        help=_WORKERS_HELP)


def level_option(name: str, default: int, what: str):
    return click.option(name, type=click.IntRange(0, 9), default=default, show_default=True,
                        help=f"PNG compression level 0-9 of {what}; larger: smaller files, slower.")


OVERWRITE = click.option("--overwrite", is_flag=True, help="Replace the output if it already exists.")
