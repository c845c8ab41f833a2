"""What every command shares: turning library errors into clean exits, progress bars."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click
from tqdm import tqdm

from ..errors import DalisrError


def user_errors(fn: Callable) -> Callable:
    """Show a DalisrError as ``Error: ...`` with exit status 1, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DalisrError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def progress(total: int | None, desc: str, unit: str = "img", unit_scale: bool = False) -> tqdm:
    """A progress bar on stderr that stays quiet when stderr is not a terminal and nothing is long."""
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, dynamic_ncols=True, leave=True)
