"""``dalisr run train.py -opt X.yml`` in a traiNNer-redux checkout: its own train.py, its train section served by
dalisr.

The script runs as ``python train.py`` would (``__main__``, ``sys.argv``, its
folder first on ``sys.path``: the checkout's ``traiNNer`` package is the one
imported). Before it runs, the names its train.py imports are bound to the
launcher's stand-ins in the modules they come from (``traiNNer.data``'s
``build_dataset`` / ``build_dataloader``, ``data_sampler.EnlargedSampler``,
``prefetch_dataloader``'s prefetchers, ``traiNNer.models.build_model``), its
``parse_options`` hands the launcher its options, and its ``yaml_load`` sees
the file without dalisr's keys; all are restored afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import runpy
from collections.abc import Iterator, Sequence

from ...errors import DalisrError
from ..scripts import options_file_of, script_context
from .launcher import TrainnerLauncher
from .options import without_dalisr_keys

#: (module, name) pairs bound to the launcher's stand-ins of the same name
BOUND = (("traiNNer.data", "build_dataset"), ("traiNNer.data", "build_dataloader"),
         ("traiNNer.data.data_sampler", "EnlargedSampler"), ("traiNNer.data.prefetch_dataloader", "CPUPrefetcher"),
         ("traiNNer.data.prefetch_dataloader", "CUDAPrefetcher"), ("traiNNer.models", "build_model"))
#: the bound names that are classes there: its train.py writes them in annotations (``EnlargedSampler | None``,
#: evaluated when it runs), so their stand-ins are classes too
CLASSES = ("EnlargedSampler", "CPUPrefetcher", "CUDAPrefetcher")


def stand_in(launcher: TrainnerLauncher, name: str) -> object:
    """The launcher's stand-in for ``name``: its method, or for a class a class whose construction calls it."""
    method = getattr(launcher, name)
    if name not in CLASSES:
        return method
    return type(name, (), {"__new__": lambda cls, *args, **kwargs: method(*args, **kwargs),
                           "__doc__": f"dalisr's stand-in for traiNNer-redux's {name} (construction calls "
                                      f"TrainnerLauncher.{name})"})
#: (module, name) pairs wrapped: the options parser (the launcher reads its result), the YAML reader (dalisr's
#: keys removed)
WRAPPED = (("traiNNer.utils.options", "parse_options"), ("traiNNer.utils.config", "parse_options"),
           ("traiNNer.utils.options", "yaml_load"))


def is_trainner_checkout(script: str) -> bool:
    """Whether ``script`` lies beside a ``traiNNer`` package (traiNNer-redux's train.py, test.py ...)."""
    return os.path.isfile(os.path.join(os.path.dirname(os.path.abspath(script)), "traiNNer", "__init__.py"))


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise DalisrError(f"{name} does not import: {err}. Fix: run dalisr from the traiNNer-redux checkout with its "
                          "requirements installed (pip install -e . in it), as python train.py needs") from None


@contextlib.contextmanager
def trainner_bound_to(launcher: TrainnerLauncher) -> Iterator[None]:
    """traiNNer-redux's data functions, model builder and options reader bound to the launcher's for the block."""
    saved = []
    try:
        for module_name, name in BOUND:
            module = _module(module_name)
            if not hasattr(module, name):
                raise DalisrError(f"{module_name}.{name} is gone from this traiNNer-redux: dalisr binds it. Fix: "
                                  "use a checkout with it (dalisr was tested with the-database/traiNNer-redux 686293)")
            launcher.originals.setdefault(name, getattr(module, name))
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, stand_in(launcher, name))
        for module_name, name in WRAPPED:
            module = _module(module_name)
            original = getattr(module, name)
            saved.append((module, name, original))
            setattr(module, name, without_dalisr_keys(original) if name == "yaml_load"
                    else launcher.parse_options(original))
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)


def run_trainner_script(script: str, args: Sequence[str]) -> None:
    """Run ``python train.py args`` of a traiNNer-redux checkout in this process, its train section from dalisr."""
    options_file = options_file_of(args)
    launcher = TrainnerLauncher(options_file)
    with script_context(script, args), trainner_bound_to(launcher):
        try:
            runpy.run_path(os.path.abspath(script), run_name="__main__")
        finally:
            launcher.close()
