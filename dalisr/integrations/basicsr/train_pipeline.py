"""``dalisr train``: BasicSR's own training pipeline, with its dataset sections served by dalisr.

``basicsr.train.train_pipeline`` runs unchanged (its options, models, losses,
logger, validation and checkpoints). It looks up ``build_dataset``,
``build_dataloader``, ``EnlargedSampler``, ``CPUPrefetcher``,
``CUDAPrefetcher``, ``build_model`` and ``load_resume_state`` in its module
globals; :func:`basicsr_train_bound_to` points those it looks up (:mod:`.api`)
at the stand-ins of :class:`~.launcher.BasicsrLauncher` for the duration of one
run. That function is the only place that touches ``basicsr.train``
(tests/test_basicsr_launcher.py fails the day BasicSR stops looking these names up).

A section with ``dalisr: false`` keeps BasicSR's own dataset and loader.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from .api import refuse_if_lacking, train_bindings
from .importing import import_basicsr, warn_if_untested
from .launcher import BasicsrLauncher
from .registry import registry_errors_explained


@contextlib.contextmanager
def basicsr_train_bound_to(launcher: BasicsrLauncher, train_module: Any, argv: list[str]) -> Iterator[None]:
    """THE one place that reaches into ``basicsr.train``: point the :data:`~.api.REBOUND` globals its loop looks
    up (and its options parser, where the loop loads its resume state itself; and ``sys.argv``, which the
    parser reads) at this run, and restore them afterwards. A copy lacking a needed name is refused."""
    names, parser, lacks = train_bindings(train_module)
    refuse_if_lacking(sys.modules["basicsr"], lacks)
    launcher.originals.update({n: getattr(train_module, n) for n in names})
    saved = {n: getattr(train_module, n) for n in [*names, *([parser] if parser else [])]}
    saved_argv = sys.argv
    try:
        sys.argv = argv
        for name in names:
            setattr(train_module, name, getattr(launcher, name))
        if parser:
            setattr(train_module, parser, launcher.capturing_options(saved[parser]))
        yield
    finally:
        sys.argv = saved_argv
        for name, value in saved.items():
            setattr(train_module, name, value)


def run_training(options_file: str, basicsr_args: list[str], root_path: str | None = None) -> None:
    """Run ``basicsr.train.train_pipeline`` with ``-opt options_file`` and BasicSR's other arguments.

    ``root_path`` (default: the working directory) is where BasicSR writes
    ``experiments/`` and ``tb_logger/``, as its train.py does for its repository root.
    """
    basicsr = import_basicsr()
    import basicsr.train as train_module

    launcher = BasicsrLauncher(options_file)
    argv = ["dalisr train", "-opt", options_file, *basicsr_args]
    with basicsr_train_bound_to(launcher, train_module, argv), registry_errors_explained():
        warn_if_untested(basicsr)
        try:
            train_module.train_pipeline(os.path.abspath(root_path or os.getcwd()))
        finally:
            launcher.close()
