"""``dalisr run`` for scripts carrying their own copy of BasicSR's loop: they import ``build_dataset``,
``build_dataloader``, ``EnlargedSampler``, the prefetchers and ``build_model`` from basicsr's data and model
modules, so :func:`basicsr_modules_bound_to` rebinds those names there before the script imports them.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from typing import Any

from .api import MODULE_NAMES, OPTIONS_MODULE, data_module_lacks, options_parser, refuse_if_lacking


@contextlib.contextmanager
def basicsr_modules_bound_to(launcher: Any) -> Iterator[None]:
    """THE place that reaches into basicsr's data and model modules for scripts with their own loop: point
    :data:`~.api.MODULE_NAMES` (and ``basicsr.utils.options``' ``parse_options``, or ``parse`` in 1.3.2 copies,
    whose ``opt`` the launcher needs) at the launcher's stand-ins, and restore them afterwards. A copy lacking one
    is refused, naming it."""
    refuse_if_lacking(sys.modules["basicsr"], data_module_lacks())
    rebound = [(module, name, getattr(module, name)) for module, names in
               ((importlib.import_module(m), names) for m, names in MODULE_NAMES) for name in names]
    options_module = importlib.import_module(OPTIONS_MODULE)
    parser = options_parser(options_module)
    parse = getattr(options_module, parser)
    for _, name, original in rebound:
        launcher.originals.setdefault(name, original)  # for the sections dalisr does not serve
    try:
        for module, name, _ in rebound:
            setattr(module, name, getattr(launcher, name))
        setattr(options_module, parser, launcher.capturing_options(parse))
        yield
    finally:
        for module, name, original in rebound:
            setattr(module, name, original)
        setattr(options_module, parser, parse)
