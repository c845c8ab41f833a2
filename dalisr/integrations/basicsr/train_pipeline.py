"""``dalisr train``: BasicSR's own training pipeline, with its dataset sections served by dalisr.

``basicsr.train.train_pipeline`` runs unchanged (its options, models, losses,
logger, validation and checkpoints). It looks up ``build_dataset``,
``build_dataloader``, ``EnlargedSampler``, ``CPUPrefetcher``,
``CUDAPrefetcher``, ``build_model`` and ``load_resume_state`` in its module
globals; :func:`basicsr_train_bound_to` points those names at the stand-ins of
:class:`~.launcher.BasicsrLauncher` for the duration of one run. That function is the
only place that touches ``basicsr.train`` (tests/test_basicsr_launcher.py
fails the day BasicSR stops looking these names up).

A section with ``dalisr: false`` keeps BasicSR's own dataset and loader.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from ...errors import DalisrError
from .importing import SUPPORTED, import_basicsr
from .launcher import BasicsrLauncher
from .registry import registry_errors_explained

#: the module globals of basicsr.train that dalisr replaces during a run
REBOUND = ("load_resume_state", "build_dataset", "EnlargedSampler", "build_dataloader", "CPUPrefetcher",
           "CUDAPrefetcher", "build_model")


def _global_lookups(module: Any) -> set[str]:
    """Names the module's functions look up as globals (what rebinding a module global affects)."""
    names: set[str] = set()
    for value in vars(module).values():
        code = getattr(value, "__code__", None)
        if code is not None and getattr(value, "__module__", None) == module.__name__:
            names.update(code.co_names)
    return names


@contextlib.contextmanager
def basicsr_train_bound_to(launcher: BasicsrLauncher, train_module: Any, argv: list[str]) -> Iterator[None]:
    """THE one place that reaches into BasicSR: point ``basicsr.train``'s globals :data:`REBOUND` (and
    ``sys.argv``, which BasicSR's ``parse_options`` reads) at this run, and restore them afterwards."""
    missing = [n for n in REBOUND if not hasattr(train_module, n)]
    unused = set(REBOUND) - _global_lookups(train_module)
    if missing or unused or not hasattr(train_module, "train_pipeline"):
        raise DalisrError(
            f"this basicsr ({getattr(sys.modules.get('basicsr'), '__version__', '?')}) no longer looks up "
            f"{', '.join(sorted(set(missing) | unused)) or 'train_pipeline'} in basicsr.train, which dalisr train "
            f"relies on. Fix: use basicsr {SUPPORTED}"
        )
    launcher.originals = {n: getattr(train_module, n) for n in REBOUND}
    saved_argv = sys.argv
    try:
        sys.argv = argv
        for name in REBOUND:
            setattr(train_module, name, getattr(launcher, name))
        yield
    finally:
        sys.argv = saved_argv
        for name, value in launcher.originals.items():
            setattr(train_module, name, value)


def run_training(options_file: str, basicsr_args: list[str], root_path: str | None = None) -> None:
    """Run ``basicsr.train.train_pipeline`` with ``-opt options_file`` and BasicSR's other arguments.

    ``root_path`` (default: the working directory) is where BasicSR writes
    ``experiments/`` and ``tb_logger/``, as its train.py does for its repository root.
    """
    import_basicsr()
    import basicsr.train as train_module

    launcher = BasicsrLauncher(options_file)
    argv = ["dalisr train", "-opt", options_file, *basicsr_args]
    with basicsr_train_bound_to(launcher, train_module, argv), registry_errors_explained():
        try:
            train_module.train_pipeline(os.path.abspath(root_path or os.getcwd()))
        finally:
            launcher.close()
