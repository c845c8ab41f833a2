"""Which dataset sections stay on a repository's own loader: the types it registers in BasicSR itself.

dalisr cannot know the semantics of a dataset class a repository (HAT, DAT...)
registers in BasicSR's ``DATASET_REGISTRY`` under a name dalisr has no pipeline
for, so those sections keep the repository's dataset and loader; so do types a
vendored basicsr copy adds to BasicSR's own (CodeFormer's ``FFHQBlindDataset``).
A name dalisr serves stays served even where the repository registers its own
class of that name (HAT's ``RealESRGANDataset``); both cases are logged once, at start.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Mapping

from ...datasets import BUILDERS
from ...errors import DalisrError

log = logging.getLogger("basicsr.dalisr")

REGISTRY_MISS = re.compile(r"No object named '([^']+)' found in '([^']+)' registry")

HOW_TO_REGISTER = ("Fix: run the repository's own training script with dalisr serving its data "
                   "(dalisr run path/to/train.py -opt X.yml), or import its package before training "
                   "(dalisr train -opt X.yml --import PKG)")


@contextlib.contextmanager
def registry_errors_explained() -> Iterator[None]:
    """BasicSR's bare ``KeyError`` for a class nobody registered becomes a DalisrError saying how to bring it in."""
    try:
        yield
    except KeyError as err:
        match = REGISTRY_MISS.search(str(err))
        if match is None:
            raise
        name, registry = match.groups()
        raise DalisrError(f"BasicSR's {registry} registry has no class named {name!r}: it comes from the repository "
                          f"that defines it, whose package registers it when imported. {HOW_TO_REGISTER}") from None


#: the dataset types BasicSR itself registers (1.3 to 1.4.2; 1.4.2 adds ``_basicsr`` to its Real-ESRGAN ones)
BASICSR_TYPES = frozenset((
    "PairedImageDataset", "SingleImageDataset", "FFHQDataset", "REDSDataset", "REDSRecurrentDataset",
    "Vimeo90KDataset", "Vimeo90KRecurrentDataset", "VideoTestDataset", "VideoRecurrentTestDataset",
    "VideoTestDUFDataset", "VideoTestVimeo90KDataset", "RealESRGANDataset", "RealESRGANPairedDataset"))


def registered_by(type_name: str) -> str | None:
    """Who registered ``type_name`` in BasicSR's dataset registry: a repository's package, or the module of a
    vendored basicsr copy that adds a type BasicSR lacks; None when it is BasicSR's own type, or nobody's."""
    from basicsr.utils.registry import DATASET_REGISTRY

    if type_name not in DATASET_REGISTRY:
        return None
    module = getattr(DATASET_REGISTRY.get(type_name), "__module__", "") or ""
    package = module.split(".")[0]
    if package == "basicsr":
        return None if type_name.removesuffix("_basicsr") in BASICSR_TYPES else module
    return package or None


def stays_on_repository_loader(dataset_opt: Mapping, section: str, where: str) -> bool:
    """Whether a section (not ``dalisr: false``) keeps the repository's own dataset: its type is one the
    repository registers and dalisr does not serve. Logs the decision; ``dalisr: true`` on it is an error."""
    type_name = str(dataset_opt.get("type"))
    package = registered_by(type_name)
    if package is None:
        return False
    if type_name in BUILDERS:
        log.info("dalisr: datasets.%s (type %s) is served by dalisr (dalisr: true), not by the class of that name "
                 "that %s registers: dalisr serves %s with its own pipeline ('dalisr: false' keeps %s's class)",
                 section, type_name, package, type_name, package)
        return False
    if dataset_opt.get("dalisr") is True:
        raise DalisrError(f"{where}: 'dalisr: true' on type {type_name}, which {package} registers itself and dalisr "
                          f"has no pipeline for (dalisr cannot know its semantics). Fix: remove 'dalisr: true' to "
                          f"keep {package}'s own loader for it, or use one of {', '.join(BUILDERS)}")
    log.info("dalisr: datasets.%s (type %s, registered by %s) stays on the repository's own dataset and loader "
             "(dalisr: false)", section, type_name, package)
    return True
