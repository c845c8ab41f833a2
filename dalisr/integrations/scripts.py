"""What running a repository's own training script under dalisr needs whoever's loop it is: its options file
among its arguments, and ``sys.argv`` / ``sys.path`` as ``python SCRIPT`` has them."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence

from ..errors import DalisrError


def options_file_of(args: Sequence[str]) -> str:
    """The ``-opt`` value of a script's arguments (dalisr's messages name the options file)."""
    for i, arg in enumerate(args):
        if arg in ("-opt", "--opt") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(("-opt=", "--opt=")):
            return arg.split("=", 1)[1]
    raise DalisrError(f"no -opt OPTIONS.yml among the script's arguments ({' '.join(args) or 'none'}). Fix: pass "
                      "the options file as for python SCRIPT, e.g. dalisr run hat/train.py -opt X.yml")



@contextlib.contextmanager
def script_context(script: str, args: Sequence[str], package_root: str | None = None) -> Iterator[None]:
    """``sys.argv`` and ``sys.path[0]`` as ``python SCRIPT args`` has them, and next on the path ``package_root``
    (the root of a vendored package the script lies in, as the repository's install has it); restored afterwards."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    if package_root is not None:
        sys.path.insert(1, package_root)
    try:
        yield
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
