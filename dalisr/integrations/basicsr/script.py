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

import importlib
import os
import runpy
import sys
from collections.abc import Sequence

from ...errors import DalisrError
from ..scripts import options_file_of, script_context
from .api import data_module_lacks, refuse_if_lacking, train_bindings
from .data_modules import basicsr_modules_bound_to
from .importing import import_basicsr, vendored_root, warn_if_untested
from .launcher import BasicsrLauncher
from .registry import registry_errors_explained
from .train_pipeline import basicsr_train_bound_to


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


def run_script(script: str, args: Sequence[str]) -> None:
    """Run ``python SCRIPT args`` in this process, every dataset section of its options served by dalisr."""
    if not os.path.isfile(script):
        raise DalisrError(f"training script {script} does not exist. Fix: give the repository's train.py, e.g. "
                          "dalisr run hat/train.py -opt X.yml")
    options_file = options_file_of(args)
    with script_context(script, args, vendored_root(script)):
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
