"""``dalisr run SCRIPT``: a repository's own training script (HAT, Real-ESRGAN, DAT...) with dalisr serving its data.

The script runs as ``python SCRIPT`` would run it (``__main__``, ``sys.argv``,
``__file__``, its folder first on ``sys.path``), so its own imports register
its archs, models and datasets and its ``root_path`` arithmetic holds. basicsr
is imported as the script would import it: a copy beside the script, or the
vendored copy the script lies in (``python basicsr/train.py`` in DAT, SRFormer,
CodeFormer, whose install puts the repository's root on the path), before an
installed one. Scripts that call ``basicsr.train.train_pipeline`` are served
through :func:`~.train_pipeline.basicsr_train_bound_to`; scripts carrying their
own copy of the loop through :func:`~.data_modules.basicsr_modules_bound_to`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import runpy
import sys
from collections.abc import Iterator, Sequence

from ...errors import DalisrError
from .api import data_module_lacks, refuse_if_lacking, train_bindings
from .data_modules import basicsr_modules_bound_to
from .importing import import_basicsr, vendored_root, warn_if_untested
from .launcher import BasicsrLauncher
from .registry import registry_errors_explained
from .train_pipeline import basicsr_train_bound_to


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


@contextlib.contextmanager
def script_context(script: str, args: Sequence[str]) -> Iterator[None]:
    """``sys.argv`` and ``sys.path[0]`` as ``python SCRIPT args`` has them, and next on the path the root of the
    vendored basicsr the script lies in, if any (as the repository's install has it); restored afterwards."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    root = vendored_root(script)
    if root is not None:
        sys.path.insert(1, root)
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
    with script_context(script, args):
        basicsr = import_basicsr(vendored_root(script))
        import basicsr.train as train_module

        refuse_if_lacking(basicsr, train_bindings(train_module)[2] + data_module_lacks())  # imports the originals
        warn_if_untested(basicsr)
        launcher = BasicsrLauncher(options_file)
        with basicsr_train_bound_to(launcher, train_module, [script, *args]), basicsr_modules_bound_to(launcher), \
                registry_errors_explained():
            try:
                runpy.run_path(os.path.abspath(script), run_name="__main__")  # 3.9+: __main__'s __file__ is absolute
            finally:
                launcher.close()
