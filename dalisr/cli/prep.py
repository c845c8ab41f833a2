"""Image preparation commands: sub-images, LR images, REDS regroup, FFHQ TFRecords to images.

The logic lives in ``dalisr.prep``; these commands parse flags, show progress
and print what was done.
"""

from __future__ import annotations

import os

import click

from ..errors import DalisrError
from ..prep import extract, faces, imresize, reds
from ..prep.files import list_images
from .common import OVERWRITE, level_option, progress, user_errors, workers_option


# -- extract-subimages -------------------------------------------------------------------------------------------
@click.command("extract-subimages")
@click.argument("input_folder", metavar="IN", required=False, type=click.Path(file_okay=False))
@click.argument("output_folder", metavar="OUT", required=False, type=click.Path(file_okay=False))
@click.option("--crop-size", type=click.IntRange(min=1), default=480, show_default=True,
              help="Side of the square sub-images, in pixels.")
@click.option("--step", type=click.IntRange(min=1), default=240, show_default=True,
              help="Distance between the starts of neighbouring windows (overlap = crop size - step).")
@click.option("--thresh-size", type=click.IntRange(min=0), default=0, show_default=True,
              help="An extra last row/column of windows (ending at the border) is cut when more than this many "
                   "pixels are left over.")
@level_option("--compression-level", 3, "the written PNG sub-images")
@workers_option()
@click.option("--div2k-preset", "div2k_root", type=click.Path(file_okay=False), default=None,
              help="Do BasicSR's four DIV2K folders under this root instead of IN/OUT: DIV2K_train_HR (480/240), "
                   "DIV2K_train_LR_bicubic/X2 (240/120), X3 (160/80), X4 (120/60), each into *_sub. Missing "
                   "inputs and outputs already made are skipped.")
@OVERWRITE
@user_errors
def extract_subimages_cmd(input_folder, output_folder, crop_size, step, thresh_size, compression_level, workers,
                          div2k_root, overwrite):
    """Cut every image of IN into overlapping square sub-images in OUT (or: --div2k-preset ROOT, no IN/OUT).

    BasicSR's extract_subimages.py, exactly.
    Windows start at 0, STEP, 2*STEP, ... in rows and columns, plus one ending at
    the border when more than --thresh-size pixels are left. Sub-images are named
    {name}_s{index:03d}{ext} (index from 1, row by row) with DIV2K's x2/x3/x4/x8
    removed from the name, so HR and LR sub-images share names. OUT appears only
    when every image is done.

    \b
    dalisr extract-subimages DIV2K_train_HR DIV2K_train_HR_sub --crop-size 480 --step 240
    dalisr extract-subimages --div2k-preset datasets/DIV2K
    """
    if div2k_root:
        if input_folder or output_folder:
            raise DalisrError("--div2k-preset replaces IN and OUT: give one or the other")
        todo, missing, done = extract.div2k_plan(div2k_root, overwrite)
        for path in missing:
            click.echo(f"skipped: {path} does not exist")
        for path in done:
            click.echo(f"skipped: {path} exists already (--overwrite to redo it)")
        for folder in todo:
            src, dst = os.path.join(div2k_root, folder.input), os.path.join(div2k_root, folder.output)
            _extract(src, dst, folder.crop_size, folder.step, 0, compression_level, workers, overwrite)
        return
    if not (input_folder and output_folder):
        raise DalisrError("give IN and OUT folders, or --div2k-preset ROOT. See --help")
    _extract(input_folder, output_folder, crop_size, step, thresh_size, compression_level, workers, overwrite)


def _extract(src, dst, crop, step, thresh, level, workers, overwrite) -> None:
    extract.check_options(crop, step, thresh, level)
    files = extract.plan_extract(src)
    with progress(len(files), os.path.basename(os.path.normpath(src))) as bar:
        result = extract.extract_subimages(src, dst, crop_size=crop, step=step, thresh_size=thresh,
                                           compression_level=level, workers=workers, overwrite=overwrite,
                                           files=files, progress=bar.update)
    click.echo(f"{result.subimages} sub-images of {crop}x{crop} (step {step}) from {result.images} images "
               f"written to {dst}")
    for path in result.too_small:
        click.echo(f"warning: {path} is smaller than {crop}x{crop}: no sub-image", err=True)


# -- regroup-reds ------------------------------------------------------------------------------------------------
@click.command("regroup-reds")
@click.argument("train", metavar="TRAIN", type=click.Path(file_okay=False))
@click.argument("val", metavar="VAL", type=click.Path(file_okay=False))
@click.option("--mode", type=click.Choice(reds.MODES), default="symlink", show_default=True,
              help="How clips reach TRAIN: copy the frames, hard-link them (same file system), or symlink "
                   "the clip folder. VAL is never changed.")
@user_errors
def regroup_reds_cmd(train, val, mode):
    """Put REDS's validation clips VAL/000..029 into TRAIN as clips 240..269 (BasicSR's regroup).

    TRAIN is e.g. train_sharp (clips 000-239), VAL val_sharp. Running again
    after a success changes nothing; a different clip already at a target stops
    the command before anything is changed.
    """
    pairs = reds.plan_regroup(train, val)
    with progress(len(pairs), "clips", unit="clip") as bar:
        result = reds.regroup_reds(train, val, mode, progress=bar.update)
    click.echo(f"{len(result.added)} clips added to {train} ({mode}), {len(result.already_there)} already there")


# -- tfrecords-to-images -----------------------------------------------------------------------------------------
@click.command("tfrecords-to-images")
@click.argument("pattern", metavar="'GLOB'")
@click.argument("output", metavar="OUT", type=click.Path())
@click.option("--log-resolution", type=click.IntRange(1, 15), default=10, show_default=True,
              help="log2 of the image size in the files (FFHQ's ffhq-r10.tfrecords: 10 = 1024x1024); "
                   "checked against every record and used in LMDB keys.")
@click.option("--format", "fmt", type=click.Choice(faces.FORMATS), default="ffhq", show_default=True,
              help="ffhq: shape (c,h,w), CHW pixels (StyleGAN's tfrecords); celeba: shape (h,w,c), HWC "
                   "pixels (Glow's celeba-tfr).")
@click.option("--save-as", type=click.Choice(faces.SAVE_AS), default="folder", show_default=True,
              help="folder: OUT/{idx:08d}.png; lmdb: OUT (ending .lmdb) keyed {idx:08d}/r{log_res:02d}.")
@level_option("--compress-level", 1, "the written PNGs")
@workers_option()
@OVERWRITE
@user_errors
def tfrecords_to_images_cmd(pattern, output, log_resolution, fmt, save_as, compress_level, workers, overwrite):
    """Extract the images of FFHQ/CelebA TFRecord files (no TensorFlow needed).

    'GLOB' (quote it) matches one or more .tfrecords files, read in sorted
    order; images are numbered from 0 across them and written as BGR PNGs. Every
    record's CRC-32C is checked: a truncated or corrupt file stops the command,
    naming the file and byte offset, and nothing is left at OUT.
    """
    files = faces.match_files(pattern)
    with progress(faces.count_all(files), "records") as bar:
        count = faces.tfrecords_to_images(files, output, log_resolution=log_resolution, fmt=fmt, save_as=save_as,
                                          compress_level=compress_level, workers=workers, overwrite=overwrite,
                                          progress=bar.update)
    click.echo(f"{count} images from {len(files)} file(s) written to {output}")


# -- make-lr -----------------------------------------------------------------------------------------------------
@click.command("make-lr")
@click.argument("hr", metavar="HR", type=click.Path(file_okay=False))
@click.argument("lr", metavar="LR", type=click.Path(file_okay=False))
@click.option("--scale", type=click.IntRange(min=2), default=4, show_default=True,
              help="Downscaling factor: LR sizes are ceil(HR size / scale).")
@click.option("--suffix", default="", show_default=False,
              help="Appended to each file's stem, e.g. 'x4' for DIV2K's 0001x4.png (default: same names).")
@level_option("--compress-level", 3, "the written LR PNGs")
@workers_option()
@OVERWRITE
@user_errors
def make_lr_cmd(hr, lr, scale, suffix, compress_level, workers, overwrite):
    """Make bicubic LR images of every image in and below HR, as MATLAB's imresize(img, 1/scale).

    The same antialiased cubic kernel (a = -0.5), index and weight computation,
    symmetric borders as MATLAB, in double precision and rounded once at the end,
    as BasicSR's MATLAB scripts (im2double, imresize, imwrite) made DIV2K's,
    REDS's and Vimeo90K's LR images. Sub-folders and names are kept; LR appears
    only when every image is done.
    """
    files = list_images(hr, recursive=True, what="HR folder")
    with progress(len(files), f"x{scale}") as bar:
        result = imresize.make_lr(hr, lr, scale=scale, compress_level=compress_level, suffix=suffix,
                                  workers=workers, overwrite=overwrite, files=files, progress=bar.update)
    click.echo(f"{result.images} LR images (1/{scale}) written to {lr}")
    if result.not_divisible:
        click.echo(f"warning: {len(result.not_divisible)} HR images (first {result.not_divisible[0]}) are not a "
                   f"multiple of {scale} in size: their LR is rounded up and will not pair exactly. "
                   "Fix: crop the HR images to a multiple of the scale first", err=True)


COMMANDS = (extract_subimages_cmd, regroup_reds_cmd, tfrecords_to_images_cmd, make_lr_cmd)


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)
