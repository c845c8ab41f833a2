"""``dalisr train``: BasicSR's train.py, with dataset sections served by dalisr."""

from __future__ import annotations

import click

from .common import user_errors


@click.command("train", context_settings={"ignore_unknown_options": True})
@click.option("-opt", "options_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="BasicSR options file (YAML), as for basicsr/train.py.")
@click.option("--launcher", type=click.Choice(["none", "pytorch", "slurm"]), default="none", show_default=True,
              help="Job launcher, as BasicSR's (pytorch: under torchrun).")
@click.option("--auto_resume", is_flag=True, help="Resume from this experiment's newest training state, mid-epoch.")
@click.option("--debug", is_flag=True, help="BasicSR's debug mode (name gets debug_, frequent logs, no tb_logger).")
@click.option("--local_rank", "--local-rank", "local_rank", type=int, default=0, show_default=True,
              help="Accepted for torch.distributed.launch; torchrun sets LOCAL_RANK instead.")
@click.option("--force_yml", "force_yml", multiple=True,
              help="Override options, e.g. --force_yml train:total_iter=1000 num_gpu=auto (as BasicSR's).")
@click.option("--import", "packages", multiple=True, metavar="PKG",
              help="Import a repository's package first (registering its archs, models and datasets); repeatable.")
@click.argument("more_force_yml", nargs=-1, type=click.UNPROCESSED)
@user_errors
def train(options_file: str, launcher: str, auto_resume: bool, debug: bool, local_rank: int,
          force_yml: tuple[str, ...], packages: tuple[str, ...], more_force_yml: tuple[str, ...]) -> None:
    """Train with BasicSR's own pipeline (models, losses, validation, checkpoints,
    logs in ./experiments and ./tb_logger), every dataset section loaded by dalisr.

    The one-word switch: `python basicsr/train.py -opt X.yml` becomes
    `dalisr train -opt X.yml` (also under torchrun with --launcher pytorch).
    A section with `dalisr: false` keeps BasicSR's own loader. --auto_resume
    continues an interrupted epoch where it stopped. Tested with basicsr
    >=1.3.4.9,<1.5 (pip install -e '.[basicsr]'); another copy runs where it
    has the names dalisr rebinds.

    A repository built on BasicSR (HAT, DAT, Real-ESRGAN...) registers its own
    networks, models and datasets when its package is imported: either run its
    own script, `dalisr run hat/train.py -opt X.yml`, or import its package
    here, `dalisr train -opt X.yml --import hat` (from the repository's root or
    with it installed). Dataset types it registers itself stay on its loader.
    """
    from ..integrations.basicsr.importing import import_basicsr
    from ..integrations.basicsr.script import import_packages
    from ..integrations.basicsr.train_pipeline import run_training
    from ..integrations.trainner.options import refuse_trainner_file

    refuse_trainner_file(options_file)
    if more_force_yml and not force_yml:
        raise click.UsageError(f"unexpected arguments: {' '.join(more_force_yml)}")
    args = ["--launcher", launcher, "--local_rank", str(local_rank)]
    if auto_resume:
        args.append("--auto_resume")
    if debug:
        args.append("--debug")
    entries = list(force_yml) + list(more_force_yml)
    if entries:
        args += ["--force_yml", *entries]
    if packages:
        import_basicsr()  # its torchvision alias, before the repository imports basicsr
        import_packages(packages)
    run_training(options_file, args)


def register(group: click.Group) -> None:
    group.add_command(train)
