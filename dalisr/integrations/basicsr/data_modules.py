"""``dalisr run`` for scripts carrying their own copy of BasicSR's loop: they import ``build_dataset``,
``build_dataloader``, ``EnlargedSampler``, the prefetchers and ``build_model`` from basicsr's data and model
modules, so :func:`basicsr_modules_bound_to` rebinds those names there before the script imports them.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

from ...errors import DalisrError
from .importing import SUPPORTED

#: (BasicSR module, names in it) that a script's own copy of the training loop imports
MODULE_NAMES = (
    ("basicsr.data", ("build_dataset", "build_dataloader")),
    ("basicsr.data.data_sampler", ("EnlargedSampler",)),
    ("basicsr.data.prefetch_dataloader", ("CPUPrefetcher", "CUDAPrefetcher")),
    ("basicsr.models", ("build_model",)),
)


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
