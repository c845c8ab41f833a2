"""Find and import basicsr: the installed one, or the copy a repository vendors (DAT, SRFormer, CodeFormer...).

A copy is judged by the names dalisr rebinds (:mod:`.api`), not by its version
string, which vendored copies may lack (DAT's ``__init__`` never imports its
version.py); a version that is unknown or outside the tested range is logged
once, as a warning, and the run goes on.

Current torchvision: PyPI's basicsr 1.4.2 imports ``rgb_to_grayscale`` from
``torchvision.transforms.functional_tensor``, a private module torchvision
removed in 0.17. The function itself lives on in
``torchvision.transforms.functional``. Before importing basicsr we register a
module under the old name that holds only that function, and only when the
old module is missing, so an older torchvision is left as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import types
from types import ModuleType

from ...errors import DalisrError

log = logging.getLogger("basicsr.dalisr")

#: basicsr releases dalisr is tested with; other copies with the names it rebinds run too, after a warning
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


def import_basicsr(copy_root: str | None = None) -> ModuleType:
    """``import basicsr`` after the compatibility step; a clear error when there is none.

    ``copy_root``: the folder holding the vendored copy a script belongs to, which must be the one imported.
    """
    try:
        importlib.import_module("torch")
    except ImportError:  # pragma: no cover - torch is a dependency
        raise DalisrError("dalisr train needs torch") from None
    if importlib.util.find_spec("basicsr") is None:
        raise DalisrError("dalisr train runs BasicSR's training pipeline, but basicsr is not installed. "
                          f"Fix: pip install -e '.[basicsr]' (or pip install 'basicsr{RANGE}')")
    register_functional_tensor_alias()
    basicsr = importlib.import_module("basicsr")
    where = copy_folder(basicsr)
    if copy_root is not None and os.path.dirname(where) != os.path.realpath(copy_root):
        raise DalisrError(f"basicsr is already imported from {where}, not from the script's own copy in "
                          f"{copy_root}. Fix: run the script in a fresh process (dalisr run SCRIPT from a shell)")
    return basicsr


def vendored_root(script: str) -> str | None:
    """The repository root of a script inside a vendored basicsr package (``<root>/basicsr/train.py``, run as
    ``python basicsr/train.py``): the folder its install (``python setup.py develop``) puts on the import
    path so that ``import basicsr`` finds the copy. None for a script outside a ``basicsr`` package."""
    folder = os.path.dirname(os.path.realpath(script))
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        if os.path.basename(folder) == "basicsr":
            return os.path.dirname(folder)
        folder = os.path.dirname(folder)
    return None


def copy_folder(basicsr: ModuleType) -> str:
    """The folder of the basicsr package imported (installed or vendored)."""
    return os.path.dirname(os.path.realpath(getattr(basicsr, "__file__", None) or "?/?"))


def copy_version(basicsr: ModuleType) -> str | None:
    """The copy's version: ``basicsr.__version__``, else its ``basicsr/version.py`` (which some copies' ``__init__``
    never imports), else None."""
    version = getattr(basicsr, "__version__", None)
    if version is None:
        try:
            version = getattr(importlib.import_module("basicsr.version"), "__version__", None)
        except Exception:  # noqa: BLE001 - a copy without (or with a broken) version.py has no version
            version = None
    return str(version) if version is not None else None


def describe_copy(basicsr: ModuleType) -> str:
    """``basicsr 1.4.2 at /path/to/basicsr`` (``unknown`` where the copy has no version)."""
    return f"basicsr {copy_version(basicsr) or 'unknown'} at {copy_folder(basicsr)}"


def check_version(version: str | None, where: str) -> str | None:
    """The warning for a basicsr whose version is unknown or outside :data:`SUPPORTED`, None inside it. Such a
    copy still runs: what dalisr needs is the names it rebinds, checked apart (:mod:`.api`)."""
    try:
        numbers = tuple(int(p) for p in (version or "").split("+")[0].split(".")[:4])
    except ValueError:
        numbers = ()
    if numbers and LOWEST <= numbers < BEYOND:
        return None
    return (f"dalisr: basicsr {version or 'unknown'} at {where} is {'outside' if version else 'not known to be in'} "
            f"the tested range {SUPPORTED}; it has the names dalisr rebinds, so the run goes on")


def warn_if_untested(basicsr: ModuleType) -> None:
    """Log :func:`check_version`'s warning for the imported copy, if any (once per run: the launchers call it)."""
    warning = check_version(copy_version(basicsr), copy_folder(basicsr))
    if warning:
        log.warning(warning)
