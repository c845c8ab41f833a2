"""The ``dalisr`` command group. Each module below adds one family of commands."""

from __future__ import annotations

import importlib
import logging

import click

# command modules, each with a `register(group)` function
COMMAND_MODULES = ("sample", "preview", "prep", "stores", "profile", "convert", "train", "run")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="dalisr", prog_name="dalisr")
@click.option("-v", "--verbose", is_flag=True, help="Log what the library does (INFO level).")
def main(verbose: bool) -> None:
    """dalisr: DALI input pipelines for super-resolution training (BasicSR-compatible).

    Prepare data (sub-images, LMDBs, meta info), check it, and load, preview
    and profile training batches from disk, LMDB or memcached.
    """
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(main)
