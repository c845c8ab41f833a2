"""Data preparation commands: sub-images, LMDBs, meta info, REDS regroup, FFHQ, checks, LR, memcached.

The logic lives in ``dalisr.prep``; these commands parse flags, show progress
and print what was done.
"""

from __future__ import annotations

import os

import click

from ..errors import DalisrError
from ..formats.meta_info import read_sequence_list
from ..prep import extract, faces, imresize, lmdb_make, meta, reds, verify
from ..prep import memcached_load as mc
from ..prep.files import list_images
from ..prep.lmdb_writer import DEFAULT_BATCH
from .common import progress, user_errors

_WORKERS_HELP = "Processes working on images side by side (0 = one per CPU core; 1 = this process only)."


def _workers_option(default: int = 0):
    return click.option("--workers", "-j", type=click.IntRange(min=0), default=default, show_default=True,
                        help=_WORKERS_HELP)


def _level_option(name: str, default: int, what: str):
    return click.option(name, type=click.IntRange(0, 9), default=default, show_default=True,
                        help=f"PNG compression level 0-9 of {what}; larger: smaller files, slower.")


_OVERWRITE = click.option("--overwrite", is_flag=True, help="Replace the output if it already exists.")


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
@_level_option("--compression-level", 3, "the written PNG sub-images")
@_workers_option()
@click.option("--div2k-preset", "div2k_root", type=click.Path(file_okay=False), default=None,
              help="Do BasicSR's four DIV2K folders under this root instead of IN/OUT: DIV2K_train_HR (480/240), "
                   "DIV2K_train_LR_bicubic/X2 (240/120), X3 (160/80), X4 (120/60), each into *_sub. Missing "
                   "inputs and outputs already made are skipped.")
@_OVERWRITE
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


# -- create-lmdb -------------------------------------------------------------------------------------------------
@click.command("create-lmdb")
@click.argument("input_folder", metavar="IN", type=click.Path(file_okay=False))
@click.argument("output", metavar="OUT.lmdb", type=click.Path())
@click.option("--dataset", type=click.Choice(lmdb_make.DATASETS), default="folder", show_default=True,
              help="Key rule. div2k: IN/*.png -> name without .png; folder: any image directly in IN -> name "
                   "without extension; reds: IN/clip/frame.png -> clip/frame; vimeo90k: IN/clip/seq/imN.png of "
                   "--train-list -> clip/seq/imN.")
@click.option("--train-list", type=click.Path(dir_okay=False), default=None,
              help="Vimeo90K's sep_trainlist.txt (clip/seq per line); needed with --dataset vimeo90k.")
@click.option("--mode", type=click.Choice(["gt", "lq"]), default="gt", show_default=True,
              help="Vimeo90K only: gt keeps the middle frame im4 of each sequence, lq all seven frames.")
@_level_option("--compress-level", 1, "the stored values (BasicSR's default is 1)")
@click.option("--codec", type=click.Choice(["png", "raw", "jp2", "png-seek"]), default="png", show_default=True,
              help="png: BasicSR's values; raw: decoded pixels that dalisr crops without decoding (several times "
                   "larger; BasicSR cannot read them); jp2: lossless JPEG 2000, decoded by the GPU under dalisr's "
                   "GPU path (BasicSR reads it too; slow to decode on a CPU); png-seek: standard PNGs (BasicSR reads "
                   "them) that dalisr decodes from a restart point above each training crop (a few percent larger "
                   "than PNG level 1). `dalisr convert` converts between them.")
@_workers_option()
@click.option("--batch", type=click.IntRange(min=1), default=DEFAULT_BATCH, show_default=True,
              help="Commit to the LMDB every this many images.")
@_OVERWRITE
@user_errors
def create_lmdb_cmd(input_folder, output, dataset, train_list, mode, compress_level, codec, workers, batch,
                    overwrite):
    """Pack the images of IN into a BasicSR LMDB OUT.lmdb with its meta_info.txt.

    Each image is read as it is (cv2.IMREAD_UNCHANGED) and stored re-encoded as
    PNG at --compress-level under its key; meta_info.txt gets one line
    'key.png (h,w,c) level' per image, in writing order. Workers read and encode,
    this process writes in input order. The LMDB is built beside OUT.lmdb and
    renamed at the end: after an error or Ctrl-C nothing is left at OUT.lmdb.
    """
    items = lmdb_make.plan_lmdb(input_folder, dataset, train_list=train_list, mode=mode)
    with progress(len(items), os.path.basename(output.rstrip("/"))) as bar:
        count = lmdb_make.create_lmdb(input_folder, output, items, compress_level=compress_level, workers=workers,
                                      batch=batch, overwrite=overwrite, progress=bar.update, codec=codec)
    stored = {"raw": "raw pixels", "jp2": "lossless JPEG 2000",
              "png-seek": f"seekable PNG, zlib level {compress_level}"}.get(codec, f"PNG level {compress_level}")
    click.echo(f"{count} images written to {output} (keys like '{items[0].key}', {stored})")


# -- meta-info ---------------------------------------------------------------------------------------------------
@click.command("meta-info")
@click.argument("source", metavar="FOLDER_OR_LMDB", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="The file to write. Default for an LMDB: its own meta_info.txt (per-key lines); "
                   "required for a folder.")
@click.option("--layout", type=click.Choice(meta.LAYOUTS), default="div2k", show_default=True,
              help="div2k: 'name.png (h,w,c)' per image; reds: 'clip frames (h,w,c)' per clip "
                   "(FOLDER/clip/frame.png); vimeo90k: 'clip/seq frames (h,w,c)' per sequence "
                   "(FOLDER/clip/seq/imN.png).")
@click.option("--train-list", type=click.Path(dir_okay=False), default=None,
              help="vimeo90k only: keep the sequences of this list (sep_trainlist.txt), in its order.")
@_OVERWRITE
@user_errors
def meta_info_cmd(source, output, layout, train_list, overwrite):
    """Write BasicSR's meta info for the images of a folder or an LMDB.

    Sizes come from the PNG or JPEG 2000 headers, not by decoding; other
    formats are decoded once. Frames of one clip must share one size. Lines
    for LMDB values in dalisr's raw or jp2 codec end with that codec, so
    rewriting an LMDB's own meta_info.txt keeps it.
    """
    if output is None:
        if not meta.is_lmdb(source):
            raise DalisrError(f"{source} is a folder: say where the meta info goes with -o FILE")
        if layout != "div2k":
            raise DalisrError("an LMDB's own meta_info.txt lists every key (--layout div2k); "
                              f"give -o FILE for a {layout} summary")
        output = os.path.join(source, "meta_info.txt")
    if train_list and layout != "vimeo90k":
        raise DalisrError("--train-list is for --layout vimeo90k")
    sequences = read_sequence_list(train_list, "--train-list") if train_list else None
    if os.path.exists(output) and not overwrite:
        raise DalisrError(f"{output} already exists. Fix: remove it or pass --overwrite")
    total = meta.count_images(source, layout)
    with progress(total, "headers") as bar:
        lines = meta.meta_info_lines(source, layout, sequences=sequences, progress=bar.update)
    meta.write_lines(output, lines, overwrite=overwrite)
    click.echo(f"{len(lines)} lines written to {output}")


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
@_level_option("--compress-level", 1, "the written PNGs")
@_workers_option()
@_OVERWRITE
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


# -- verify ------------------------------------------------------------------------------------------------------
@click.command("verify")
@click.argument("source", metavar="DATAROOT_OR_LMDB", type=click.Path(file_okay=False))
@click.option("--paired-with", "lq", metavar="LQ", type=click.Path(file_okay=False), default=None,
              help="The LQ folder or LMDB paired with DATAROOT (the GT): same keys, GT exactly --scale x LQ.")
@click.option("--scale", type=click.IntRange(min=1), default=None, help="GT / LQ size factor (with --paired-with).")
@click.option("--meta-info", "meta_info", type=click.Path(dir_okay=False), default=None,
              help="A meta info file to check a folder against (LMDBs use their own meta_info.txt).")
@_workers_option(1)
@click.option("--max-report", type=click.IntRange(min=1), default=50, show_default=True,
              help="Print at most this many problems (all are counted).")
@click.pass_context
@user_errors
def verify_cmd(ctx, source, lq, scale, meta_info, workers, max_report):
    """Check a dataset before training: every image decodes and matches its meta info.

    For an LMDB, every key of meta_info.txt must be stored, decode, and have
    the recorded shape. For a folder, every image in and below it must decode
    (and match --meta-info if given). With --paired-with, both sides must hold
    the same keys and every GT must be exactly --scale times its LQ. Prints the
    problems found and exits with status 1 if there is any.
    """
    if lq is not None and scale is None:
        raise DalisrError("--paired-with needs --scale (e.g. --scale 4)")
    if scale is not None and lq is None:
        raise DalisrError("--scale is for --paired-with LQ")
    gt_source = verify.open_source(source, meta_info)
    lq_source = verify.open_source(lq) if lq else None
    total = verify.count_images(gt_source) + (verify.count_images(lq_source) if lq_source else 0)
    with progress(total, "verify") as bar:
        report = verify.verify(gt_source, lq_source, scale, workers=workers, progress=bar.update)
    for problem in report.problems[:max_report]:
        click.echo(f"problem: {problem}")
    if len(report.problems) > max_report:
        click.echo(f"... and {len(report.problems) - max_report} more problems")
    if report.ok:
        click.echo(f"OK: {report.checked} images checked, no problem")
        return
    n = len(report.problems)
    click.echo(f"FAILED: {report.checked} images checked, {n} problem{'' if n == 1 else 's'}", err=True)
    ctx.exit(1)


# -- make-lr -----------------------------------------------------------------------------------------------------
@click.command("make-lr")
@click.argument("hr", metavar="HR", type=click.Path(file_okay=False))
@click.argument("lr", metavar="LR", type=click.Path(file_okay=False))
@click.option("--scale", type=click.IntRange(min=2), default=4, show_default=True,
              help="Downscaling factor: LR sizes are ceil(HR size / scale).")
@click.option("--suffix", default="", show_default=False,
              help="Appended to each file's stem, e.g. 'x4' for DIV2K's 0001x4.png (default: same names).")
@_level_option("--compress-level", 3, "the written LR PNGs")
@_workers_option()
@_OVERWRITE
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


# -- memcached-load ----------------------------------------------------------------------------------------------
@click.command("memcached-load")
@click.argument("source", metavar="DATAROOT", type=click.Path(file_okay=False))
@click.option("--servers", "-s", multiple=True, metavar="HOST:PORT",
              help="A memcached server; repeat it or give a comma-separated list.")
@click.option("--server-list-cfg", type=click.Path(dir_okay=False), default=None,
              help="A file with one host:port per line (io_backend.server_list_cfg).")
@click.option("--dataroot", default=None,
              help="LMDB sources only: the dataroot the memcached config names (default: the LMDB path "
                   "without .lmdb); keys are stored as its files KEY.png.")
@user_errors
def memcached_load_cmd(source, servers, server_list_cfg, dataroot):
    """Put a dataset into memcached under exactly the names the memcached loader asks for.

    A folder: every image in and below DATAROOT, bytes as on disk, named by its
    path relative to DATAROOT. An LMDB: every key of its meta_info.txt, stored
    as the file KEY.png of --dataroot. Spell DATAROOT (or --dataroot) as the
    config's dataroot_gt/dataroot_lq: the cache names contain it.
    """
    server_list = mc.collect_servers(servers, server_list_cfg)
    plan = mc.plan_load(source, dataroot)
    with progress(len(plan.items), "memcached") as bar:
        result = mc.memcached_load(plan, server_list, progress=bar.update)
    click.echo(f"{result.stored} values stored in memcached ({', '.join(server_list)}) for dataroot {plan.dataroot}")
    if result.failed:
        raise DalisrError(f"{len(result.failed)} values were not stored (first '{result.failed[0]}'): a server did "
                          "not answer. Fix: check the servers are running and reachable, then run again")


# -- warm-cache --------------------------------------------------------------------------------------------------
@click.command("warm-cache")
@click.argument("paths", metavar="LMDB_FOLDER_OR_CONFIG...", nargs=-1, required=True, type=click.Path())
@user_errors
def warm_cache_cmd(paths):
    """Read datasets once into the OS page cache, so training starts at full speed.

    An LMDB folder's data.mdb, every file below an image folder, the
    dataroot_gt/dataroot_lq of a dataset config (.yml, its datasets.train),
    or a file: what `cat data.mdb > /dev/null` does, with progress. LMDB reads are page
    faults: at memory speed while data.mdb is cached, at disk speed otherwise.
    Run it before training on a machine that has just started or drops its
    caches. Says whether the data fits in the memory available.

    \b
    dalisr warm-cache datasets/DIV2K/DIV2K_train_HR_sub.lmdb datasets/DIV2K/DIV2K_train_LR_bicubic_X4_sub.lmdb
    dalisr warm-cache pipelines/div2k_x4_lmdb.yml
    """
    from ..config import data_roots, is_options_file
    from ..storage import page_cache

    roots = [r for p in paths for r in (data_roots(p) if is_options_file(p) else [p])]
    files = page_cache.data_files(roots)
    total = sum(os.path.getsize(f) for f in files)
    with progress(total, "page cache", unit="B", unit_scale=True) as bar:
        result = page_cache.warm(files, progress=bar.update)
    rate = result.bytes / 1e6 / result.seconds if result.seconds > 0 else float("inf")
    click.echo(f"{result.bytes / 1e6:.1f} MB in {result.files} files read in {result.seconds:.1f} s ({rate:.0f} MB/s)")
    if result.fits is False:
        click.echo(f"warning: {result.bytes / 1e9:.1f} GB does not fit in the {result.available / 1e9:.1f} GB "
                   "available: part of it is already evicted again, and training reads will come from disk",
                   err=True)
    elif result.fits:
        click.echo(f"fits in the memory available ({result.available / 1e9:.1f} GB)")


COMMANDS = (extract_subimages_cmd, create_lmdb_cmd, meta_info_cmd, regroup_reds_cmd, tfrecords_to_images_cmd,
            verify_cmd, make_lr_cmd, memcached_load_cmd, warm_cache_cmd)


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)
