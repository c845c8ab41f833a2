"""The names of basicsr that dalisr rebinds, and the check that a copy has them.

A basicsr copy is judged by these names, not by its version string: repositories
vendor their own copy (DAT's has no ``__version__``, CodeFormer's is a 1.3.2 whose
options module has ``parse`` and whose train.py loads the resume state itself).
A copy lacking a name dalisr needs is refused with that name; a name only some
loops use (``load_resume_state``, the sampler, the prefetchers) is rebound where
``basicsr.train`` looks it up and left alone where it does not.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ...errors import DalisrError
from .importing import RANGE, describe_copy

#: basicsr.train's globals that dalisr replaces during a run (where its loop looks them up)
REBOUND = ("load_resume_state", "build_dataset", "EnlargedSampler", "build_dataloader", "CPUPrefetcher",
           "CUDAPrefetcher", "build_model")
#: of those, the ones the loop must look up: the data, and the model whose checkpoints carry loader positions
TRAIN_NEEDED = ("build_dataset", "build_dataloader", "build_model")
#: where the launcher reads the run's options when the loop loads its resume state itself (1.3.2 copies):
#: basicsr.train's options parser (CodeFormer's train.py defines its own parse_options around ``parse``)
OPTION_PARSERS = ("parse_options", "parse")
#: (basicsr module, names in it) that a script's own copy of the training loop imports
MODULE_NAMES = (
    ("basicsr.data", ("build_dataset", "build_dataloader")),
    ("basicsr.data.data_sampler", ("EnlargedSampler",)),
    ("basicsr.data.prefetch_dataloader", ("CPUPrefetcher", "CUDAPrefetcher")),
    ("basicsr.models", ("build_model",)),
)
OPTIONS_MODULE = "basicsr.utils.options"


def global_lookups(module: ModuleType) -> set[str]:
    """Names the module's functions look up as globals (what rebinding a module global affects)."""
    names: set[str] = set()
    for value in vars(module).values():
        code = getattr(value, "__code__", None)
        if code is not None and getattr(value, "__module__", None) == module.__name__:
            names.update(code.co_names)
    return names


def train_bindings(train_module: ModuleType) -> tuple[list[str], str | None, list[str]]:
    """What to rebind in ``basicsr.train``: the :data:`REBOUND` names its loop looks up, the options parser to
    wrap (None where the loop calls ``load_resume_state``, which hands the launcher the options), and what the
    copy lacks (``module.name`` entries; empty when it has all dalisr needs)."""
    lookups = global_lookups(train_module)
    used = [n for n in REBOUND if hasattr(train_module, n) and n in lookups]
    lacks = []
    if not hasattr(train_module, "train_pipeline"):
        lacks.append("basicsr.train.train_pipeline")
    for name in TRAIN_NEEDED:
        if not hasattr(train_module, name):
            lacks.append(f"basicsr.train.{name}")
        elif name not in lookups:
            lacks.append(f"basicsr.train.{name} (there, but no function of basicsr.train looks it up)")
    parser = None
    if "load_resume_state" not in used:
        parser = next((n for n in OPTION_PARSERS if callable(getattr(train_module, n, None)) and n in lookups), None)
        if parser is None:
            lacks.append("basicsr.train.parse_options (or parse, or load_resume_state: where dalisr reads the "
                         "run's options)")
    return used, parser, lacks


def data_module_lacks() -> list[str]:
    """The :data:`MODULE_NAMES` and options parser a copy lacks (``module.name`` entries)."""
    lacks = []
    for module_name, names in MODULE_NAMES:
        module = _module(module_name)
        if module is None:
            lacks.append(f"{module_name} (the module)")
            continue
        lacks.extend(f"{module_name}.{n}" for n in names if not hasattr(module, n))
    if options_parser(_module(OPTIONS_MODULE)) is None:
        lacks.append(f"{OPTIONS_MODULE}.parse_options (or parse)")
    return lacks


def options_parser(options_module: ModuleType | None) -> str | None:
    """The name of the options parser a script's own loop imports from ``basicsr.utils.options``."""
    return next((n for n in OPTION_PARSERS if callable(getattr(options_module, n, None))), None)


def refuse_if_lacking(basicsr: ModuleType, lacks: list[str]) -> None:
    """A DalisrError naming every name dalisr needs that this copy lacks."""
    if lacks:
        raise DalisrError(f"{describe_copy(basicsr)} lacks {', '.join(lacks)}, which dalisr rebinds to serve the "
                          f"data. Fix: train with its own loader (python SCRIPT or basicsr/train.py), or use a "
                          f"basicsr that has these names (pip install 'basicsr{RANGE}')")


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and name.startswith(err.name):
            return None
        raise
