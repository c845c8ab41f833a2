"""``dalisr make-sample``: the bundled DIV2K-like sample set."""

from __future__ import annotations

import os

import click

from ..prep.sample_imagenet import make_imagenet_sample
from ..prep.sample_images import PHOTOS, count_subimages, make_sample_set
from ..prep.sample_video import make_sample_reds
from .common import progress, user_errors


@click.command("make-sample")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Write at most this many GT sub-images (default: all, 55).")
@click.option("--no-lmdb", is_flag=True, help="Write only the image folders, not the LMDBs.")
@click.option("--reds", is_flag=True,
              help="Also write a small REDS-like video set in OUT/REDS (4 clips of 10 frames, REDS4 val folders), "
                   "as pipelines/basicvsr_reds_sample.yml reads it.")
@click.option("--imagenet", is_flag=True,
              help="Also write a small ImageNet-like JPEG set in OUT/ImageNet (24 images of ImageNet's sizes, with "
                   "a gray, a CMYK, a progressive, an EXIF-rotated JPEG and a PNG named .JPEG; meta_info file), as "
                   "pipelines/edsr_imagenet_bicubic_x4_sample.yml reads it.")
@user_errors
def make_sample(out: str, limit: int | None, no_lmdb: bool, reds: bool, imagenet: bool) -> None:
    """Write a small DIV2K-like paired set into OUT from scikit-image's photographs.

    GT sub-images are 480x480 (step 240) as BasicSR's extract_subimages cuts
    DIV2K; LQ folders X2_sub, X3_sub, X4_sub hold their block means
    (cv2.INTER_AREA), so every LQ pixel is exactly aligned with its GT block.
    LMDBs in BasicSR's format (with meta_info.txt) sit beside the folders.
    Nothing is downloaded.
    """
    total = min(limit, count_subimages()) if limit else count_subimages()
    with progress(total, "sub-images") as bar:
        result = make_sample_set(out, photos=PHOTOS, limit=limit, lmdb=not no_lmdb, progress=bar.update)
    click.echo(f"sample set ready in {result.root}")
    if reds:
        video = make_sample_reds(os.path.join(out, "REDS"))
        click.echo(f"sample REDS set ready in {video.root}")
    if imagenet:
        images = make_imagenet_sample(os.path.join(out, "ImageNet"))
        click.echo(f"sample ImageNet-like set ready in {images.root}")


def register(group: click.Group) -> None:
    group.add_command(make_sample)
