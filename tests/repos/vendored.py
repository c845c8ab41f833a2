"""A repository that vendors its own basicsr, as DAT, SRFormer and CodeFormer do, written by the tests: a copy of
the installed basicsr package (its files, copied at test time) without a version and without video models, with
the repository's arch, model and a dataset type of its own registered inside the copy, run as
``python basicsr/train.py -opt X.yml`` from the repository's root. Variants: a 1.3.2-style copy (``parse``, not
``parse_options``; train.py loading its resume state itself) and one lacking a name dalisr rebinds."""

from __future__ import annotations

import importlib.util
import os
import shutil

from tests.repos.toyhat import FILES

OWN_DATASET = '''
from basicsr.data.paired_image_dataset import PairedImageDataset
from basicsr.utils.registry import DATASET_REGISTRY


@DATASET_REGISTRY.register()
class ToyPairedDataset(PairedImageDataset):
    """A type the copy adds to BasicSR's own (as CodeFormer's copy adds FFHQBlindDataset)."""
'''


def edit(path: str, old: str, new: str) -> None:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert old in text, (path, old)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new))


def make_vendored_repo(root, sample_set, variant: str = "no-version") -> str:
    """``root`` with ``basicsr/`` (the copy), ``datasets/sample`` -> the sample set. ``variant``: ``no-version``,
    ``parse`` (1.3.2 style) or ``no-build_dataloader`` (a copy lacking a name dalisr rebinds)."""
    copy = os.path.join(root, "basicsr")
    shutil.copytree(os.path.dirname(importlib.util.find_spec("basicsr").origin), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    os.remove(os.path.join(copy, "version.py"))
    edit(os.path.join(copy, "__init__.py"), "from .version import __gitsha__, __version__\n", "")
    edit(os.path.join(copy, "utils", "logger.py"), "from basicsr.version import __version__", "__version__ = '?'")
    for name in os.listdir(os.path.join(copy, "models")):
        if name.startswith("video_") or name == "edvr_model.py":  # DAT's copy has no video models
            os.remove(os.path.join(copy, "models", name))
    files = {"archs/toy_arch.py": FILES["toyhat/archs/__init__.py"], "models/toy_model.py":
             FILES["toyhat/models/__init__.py"], "data/toy_paired_dataset.py": OWN_DATASET}
    for name, text in files.items():
        with open(os.path.join(copy, name), "w", encoding="utf-8") as f:
            f.write(text.lstrip("\n"))
    if variant == "parse":
        for name in ("utils/options.py", "train.py", "test.py"):
            edit(os.path.join(copy, name), "parse_options", "parse")
        edit(os.path.join(copy, "train.py"), "load_resume_state", "resume_state_of")  # loaded in the loop's own way
    elif variant == "no-build_dataloader":
        edit(os.path.join(copy, "data", "__init__.py"), "def build_dataloader(", "def make_dataloader(")
        edit(os.path.join(copy, "data", "__init__.py"), "'build_dataset', 'build_dataloader'", "'build_dataset'")
        for name in ("train.py", "test.py"):
            edit(os.path.join(copy, name), "from basicsr.data import build_dataloader, build_dataset",
                 "from basicsr.data import build_dataset")
    os.makedirs(os.path.join(root, "datasets"))
    os.symlink(sample_set.root, os.path.join(root, "datasets", "sample"))
    return str(root)
