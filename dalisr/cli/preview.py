"""``dalisr preview``: save GT/LQ training patches side by side as a PNG."""

from __future__ import annotations

import click

from .common import user_errors


@click.command("preview")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "-o", default="patches.png", show_default=True, type=click.Path(dir_okay=False),
              help="PNG file to write the contact sheet to.")
@click.option("--rows", default=8, show_default=True, type=click.IntRange(1, 64), help="Patches to show.")
@click.option("--section", default=None, help="Dataset section of a whole options file (default: train).")
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["auto", "cpu", "gpu"]),
              help="Where the pipeline decodes and augments.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the order, crops and flips.")
@user_errors
def preview(config: str, out: str, rows: int, section: str | None, device: str, seed: int) -> None:
    """Load one batch of CONFIG and write GT patches beside their LQ patches (nearest-upscaled).

    Each LQ pixel shows as a block of scale x scale pixels; in an aligned pair
    the blocks follow the GT detail exactly, under every flip and rotation.
    """
    import cv2

    from ..diagnose.preview import contact_sheet
    from ..loader.build import build_dataloader

    with build_dataloader(config, device=device, seed=seed, section=section) as loader:
        batch = next(iter(loader))
        spec = loader.spec
    sheet = contact_sheet(batch, max_rows=rows, mean=spec.mean, std=spec.std)
    if not cv2.imwrite(out, sheet):
        raise click.ClickException(f"could not write {out}")
    what = "GT | LQ pairs" if "gt" in batch and "lq" in batch else ("GT" if "gt" in batch else "LQ") + " images"
    shown = batch["gt" if "gt" in batch else "lq"].shape[0]
    click.echo(f"wrote {out}: {min(rows, shown)} {what} from {config}")


def register(group: click.Group) -> None:
    group.add_command(preview)
