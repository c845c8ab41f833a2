"""Import BasicSR on current torchvision: the one compatibility step ``dalisr train`` takes.

PyPI's basicsr 1.4.2 imports ``rgb_to_grayscale`` from
``torchvision.transforms.functional_tensor``, a private module torchvision
removed in 0.17. The function itself lives on in
``torchvision.transforms.functional``. Before importing basicsr we register a
module under the old name that holds only that function, and only when the
old module is missing, so an older torchvision is left as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from types import ModuleType

from ...errors import DalisrError

#: basicsr releases the launcher is tested with (the names it rebinds exist in basicsr.train there)
RANGE = ">=1.3.4.9,<1.5"
SUPPORTED = f"{RANGE} (tested with 1.3.4.9 and 1.4.2)"
LOWEST, BEYOND = (1, 3, 4, 9), (1, 5)  # RANGE's bounds, as version tuples
LEGACY_MODULE = "torchvision.transforms.functional_tensor"


def register_functional_tensor_alias() -> bool:
    """Provide ``torchvision.transforms.functional_tensor.rgb_to_grayscale`` if torchvision lacks it.

    Returns True when the alias was registered, False when nothing was needed.
    """
    if LEGACY_MODULE in sys.modules:
        return False
    try:
        importlib.import_module(LEGACY_MODULE)
        return False
    except ImportError:
        pass
    try:
        functional = importlib.import_module("torchvision.transforms.functional")
    except ImportError as exc:
        raise DalisrError(f"BasicSR needs torchvision, which does not import here ({exc}). "
                          "Fix: pip install torchvision matching your torch") from None
    alias = types.ModuleType(LEGACY_MODULE)
    alias.__doc__ = "dalisr's alias for basicsr 1.4.2: rgb_to_grayscale moved to torchvision.transforms.functional"
    alias.rgb_to_grayscale = functional.rgb_to_grayscale
    sys.modules[LEGACY_MODULE] = alias
    return True


def import_basicsr() -> ModuleType:
    """``import basicsr`` after the compatibility step; a clear error when it is not installed."""
    try:
        importlib.import_module("torch")
    except ImportError:  # pragma: no cover - torch is a dependency
        raise DalisrError("dalisr train needs torch") from None
    if importlib.util.find_spec("basicsr") is None:
        raise DalisrError("dalisr train runs BasicSR's training pipeline, but basicsr is not installed. "
                          f"Fix: pip install -e '.[basicsr]' (or pip install 'basicsr{RANGE}')")
    register_functional_tensor_alias()
    basicsr = importlib.import_module("basicsr")
    check_version(getattr(basicsr, "__version__", "?"), getattr(basicsr, "__file__", "?"))
    return basicsr


def check_version(version: str, where: str) -> None:
    """Refuse a basicsr outside :data:`SUPPORTED`: the launcher rebinds names only those releases look up."""
    try:
        numbers = tuple(int(p) for p in version.split("+")[0].split(".")[:4])
    except ValueError:
        numbers = ()
    if not numbers or not LOWEST <= numbers < BEYOND:
        raise DalisrError(f"basicsr {version} ({where}) is not supported: dalisr serves basicsr {SUPPORTED}. "
                          f"Fix: pip install 'basicsr{RANGE}'")
