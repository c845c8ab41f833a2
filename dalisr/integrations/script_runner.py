"""``dalisr run SCRIPT``: a repository's own training script (HAT, Real-ESRGAN, DAT...) with dalisr serving its data.

The script runs as ``python SCRIPT`` would run it (``__main__``, ``sys.argv``,
``__file__``, its folder first on ``sys.path``), so its own imports register
its archs, models and datasets and its ``root_path`` arithmetic holds. Scripts
that call ``basicsr.train.train_pipeline`` are served through
:func:`~dalisr.integrations.basicsr.basicsr_train_bound_to`; scripts carrying
their own copy of the loop import ``build_dataset``, ``build_dataloader``,
``EnlargedSampler``, the prefetchers and ``build_model`` from BasicSR's modules,
so :func:`basicsr_modules_bound_to` rebinds those names there before the script
imports them.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import runpy
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import DalisrError
from .basicsr_compat import SUPPORTED, import_basicsr
from .basicsr_registry import registry_errors_explained

#: (BasicSR module, names in it) that a script's own copy of the training loop imports
MODULE_NAMES = (
    ("basicsr.data", ("build_dataset", "build_dataloader")),
    ("basicsr.data.data_sampler", ("EnlargedSampler",)),
    ("basicsr.data.prefetch_dataloader", ("CPUPrefetcher", "CUDAPrefetcher")),
    ("basicsr.models", ("build_model",)),
)


def options_file_of(args: Sequence[str]) -> str:
    """The ``-opt`` value of a script's arguments (dalisr's messages name the options file)."""
    for i, arg in enumerate(args):
        if arg in ("-opt", "--opt") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(("-opt=", "--opt=")):
            return arg.split("=", 1)[1]
    raise DalisrError(f"no -opt OPTIONS.yml among the script's arguments ({' '.join(args) or 'none'}). Fix: pass "
                      "the options file as for python SCRIPT, e.g. dalisr run hat/train.py -opt X.yml")


def import_packages(packages: Sequence[str]) -> None:
    """Import a repository's packages (``--import``), registering their archs, models and datasets in BasicSR."""
    if packages and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: `--import hat` from the repository's root
    for name in packages:
        try:
            importlib.import_module(name)
        except ImportError as err:
            raise DalisrError(f"--import {name}: {err}. Fix: install the repository (e.g. pip install -e . or python "
                              "setup.py develop in it) or run dalisr from its root folder") from None


def _with_opt_capture(launcher: Any, parse_options: Any) -> Any:
    def parse_options_for_dalisr(*args: Any, **kwargs: Any) -> Any:
        result = parse_options(*args, **kwargs)
        opt = result[0] if isinstance(result, tuple) else result
        launcher.load_resume_state(opt)  # the loop's own copy loads it too; dalisr needs the loader positions
        return result

    return parse_options_for_dalisr


@contextlib.contextmanager
def basicsr_modules_bound_to(launcher: Any) -> Iterator[None]:
    """THE place that reaches into BasicSR's data and model modules for scripts with their own loop: point
    :data:`MODULE_NAMES` (and ``basicsr.utils.options.parse_options``, whose ``opt`` the launcher needs) at the
    launcher's stand-ins, and restore them afterwards. The originals must be imported first."""
    targets = [(importlib.import_module(m), names) for m, names in MODULE_NAMES]
    options_module = importlib.import_module("basicsr.utils.options")
    saved: list[tuple[Any, str, Any]] = []
    for module, names in targets:
        for name in names:
            if not hasattr(module, name):
                raise DalisrError(f"this basicsr has no {module.__name__}.{name}, which dalisr run relies on. "
                                  f"Fix: use basicsr {SUPPORTED}")
            saved.append((module, name, getattr(module, name)))
    parse_options = options_module.parse_options
    try:
        for module, name, _ in saved:
            setattr(module, name, getattr(launcher, name))
        options_module.parse_options = _with_opt_capture(launcher, parse_options)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        options_module.parse_options = parse_options


@contextlib.contextmanager
def script_context(script: str, args: Sequence[str]) -> Iterator[None]:
    """``sys.argv`` and ``sys.path[0]`` as ``python SCRIPT args`` has them, restored afterwards."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        yield
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path


def run_script(script: str, args: Sequence[str]) -> None:
    """Run ``python SCRIPT args`` in this process, every dataset section of its options served by dalisr."""
    if not os.path.isfile(script):
        raise DalisrError(f"training script {script} does not exist. Fix: give the repository's train.py, e.g. "
                          "dalisr run hat/train.py -opt X.yml")
    options_file = options_file_of(args)
    import_basicsr()
    import basicsr.train as train_module

    from .basicsr import BasicsrLauncher, basicsr_train_bound_to

    for module, _ in MODULE_NAMES:  # the originals, before anything is rebound
        importlib.import_module(module)
    launcher = BasicsrLauncher(options_file)
    argv = [script, *args]
    with basicsr_train_bound_to(launcher, train_module, argv), basicsr_modules_bound_to(launcher), \
            script_context(script, args), registry_errors_explained():
        try:
            runpy.run_path(os.path.abspath(script), run_name="__main__")  # python 3.9+: __main__'s __file__ is absolute
        finally:
            launcher.close()
