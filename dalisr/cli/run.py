"""``dalisr run SCRIPT``: a repository's own training script, with dataset sections served by dalisr."""

from __future__ import annotations

import click

from .common import user_errors


@click.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                                        "help_option_names": ["--help"]})
@click.argument("script", type=click.Path(exists=True, dir_okay=False))
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED)
@user_errors
def run(script: str, script_args: tuple[str, ...]) -> None:
    """Run a repository's own training script (HAT, DAT, Real-ESRGAN... built on
    BasicSR, or traiNNer-redux's) as `python SCRIPT` would, its data served by dalisr.

    The one-word switch: `python hat/train.py -opt X.yml` becomes
    `dalisr run hat/train.py -opt X.yml`; the script's arguments pass through
    unchanged (under torchrun: `torchrun --nproc_per_node=N -m dalisr run
    hat/train.py -opt X.yml --launcher pytorch`). The script imports its own
    package, registering its networks, models and datasets. Works for scripts
    calling basicsr.train.train_pipeline and for scripts with their own copy
    of the loop built from basicsr.data's functions.

    Dataset types the repository registers itself (dalisr has no pipeline for
    them) stay on the repository's own loader, as do sections with
    `dalisr: false`. Without a script: `dalisr train -opt X.yml --import PKG`.
    A repository's own basicsr copy (`dalisr run basicsr/train.py -opt X.yml`
    in DAT, SRFormer, CodeFormer) is the one imported; any copy with the names
    dalisr rebinds runs (tested with basicsr >=1.3.4.9,<1.5).

    traiNNer-redux (its own `traiNNer` package, no basicsr): `dalisr run train.py
    -opt options/train/X.yml` in its checkout serves the train section with its
    semantics (pairing by file stem, folder lists, 16-bit images, its flips);
    val sections stay on its loader (its loop checks their classes). dalisr's
    keys (`dalisr: false`, `bit_depth`...) are removed before its schema reads
    the file. --auto_resume continues mid-epoch (positions beside its states).
    """
    from ..integrations.basicsr.script import run_script
    from ..integrations.trainner.script import is_trainner_checkout, run_trainner_script

    if is_trainner_checkout(script):
        run_trainner_script(script, list(script_args))
    else:
        run_script(script, list(script_args))


def register(group: click.Group) -> None:
    group.add_command(run)
