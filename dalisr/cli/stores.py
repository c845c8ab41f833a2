"""Store commands: LMDBs and their meta info, checks, memcached loading, page-cache warming.

The logic lives in ``dalisr.prep`` and ``dalisr.storage``; these commands
parse flags, show progress and print what was done.
"""

from __future__ import annotations

import os

import click

from ..errors import DalisrError
from ..formats.meta_info import read_sequence_list
from ..prep import lmdb_make, meta, verify
from ..prep import memcached_load as mc
from ..prep.lmdb_writer import DEFAULT_BATCH
from .common import OVERWRITE, level_option, progress, user_errors, workers_option


# -- create-lmdb -------------------------------------------------------------------------------------------------
@click.command("create-lmdb")
@click.argument("input_folder", metavar="IN", type=click.Path(file_okay=False))
@click.argument("output", metavar="OUT.lmdb", type=click.Path())
@click.option("--dataset", type=click.Choice(lmdb_make.DATASETS), default="folder", show_default=True,
              help="Key rule. div2k: IN/*.png -> name without .png; folder: any image directly in IN -> name "
                   "without extension; tree: any image in or below IN -> its path below IN without extension "
                   "(traiNNer-redux's folders: GT and LQ LMDBs made so pair by key; colour profiles other than "
                   "sRGB refused); reds: IN/clip/frame.png -> clip/frame; vimeo90k: IN/clip/seq/imN.png of "
                   "--train-list -> clip/seq/imN.")
@click.option("--train-list", type=click.Path(dir_okay=False), default=None,
              help="Vimeo90K's sep_trainlist.txt (clip/seq per line); needed with --dataset vimeo90k.")
@click.option("--mode", type=click.Choice(["gt", "lq"]), default="gt", show_default=True,
              help="Vimeo90K only: gt keeps the middle frame im4 of each sequence, lq all seven frames.")
@level_option("--compress-level", 1, "the stored values (BasicSR's default is 1)")
@click.option("--codec", type=click.Choice(["png", "raw", "jp2", "png-seek"]), default="png", show_default=True,
              help="png: BasicSR's values; raw: decoded pixels that dalisr crops without decoding (several times "
                   "larger; BasicSR cannot read them); jp2: lossless JPEG 2000, decoded by the GPU under dalisr's "
                   "GPU path (BasicSR reads it too; slow to decode on a CPU); png-seek: standard PNGs (BasicSR reads "
                   "them) that dalisr decodes from a restart point above each training crop (a few percent larger "
                   "than PNG level 1). `dalisr convert` converts between them.")
@workers_option()
@click.option("--batch", type=click.IntRange(min=1), default=DEFAULT_BATCH, show_default=True,
              help="Commit to the LMDB every this many images.")
@OVERWRITE
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
                                      batch=batch, overwrite=overwrite, progress=bar.update, codec=codec,
                                      srgb_only=dataset == "tree")
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
@OVERWRITE
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


# -- verify ------------------------------------------------------------------------------------------------------
@click.command("verify")
@click.argument("source", metavar="DATAROOT_OR_LMDB_OR_OPTIONS", type=click.Path())
@click.option("--paired-with", "lq", metavar="LQ", type=click.Path(file_okay=False), default=None,
              help="The LQ folder or LMDB paired with DATAROOT (the GT): same keys, GT exactly --scale x LQ.")
@click.option("--scale", type=click.IntRange(min=1), default=None, help="GT / LQ size factor (with --paired-with).")
@click.option("--meta-info", "meta_info", type=click.Path(dir_okay=False), default=None,
              help="A meta info file to check a folder against (LMDBs use their own meta_info.txt).")
@click.option("--section", default=None, help="Dataset section of an options file (default: train).")
@workers_option(1)
@click.option("--max-report", type=click.IntRange(min=1), default=50, show_default=True,
              help="Print at most this many problems (all are counted).")
@click.pass_context
@user_errors
def verify_cmd(ctx, source, lq, scale, meta_info, section, workers, max_report):
    """Check a dataset before training: every image decodes and matches its meta info.

    For an LMDB, every key of meta_info.txt must be stored, decode, and have
    the recorded shape. For a folder, every image in and below it must decode
    (and match --meta-info if given). With --paired-with, both sides must hold
    the same keys and every GT must be exactly --scale times its LQ. Given an
    options file (.yml), the data roots of its --section are checked so, GT
    with LQ at its scale; a traiNNer-redux file folder pair by folder pair,
    with its rules (files pair by name whatever their extension; an embedded
    colour profile other than sRGB is a problem: it converts those, dalisr
    does not). Prints the problems found and exits with status 1 if there is any.
    """
    from ..config import is_options_file

    if is_options_file(source):
        if lq is not None or scale is not None or meta_info is not None:
            raise DalisrError("an options file names its own folders, scale and meta info: drop --paired-with, "
                              "--scale and --meta-info")
        checks = verify.option_sources(source, section)
    else:
        if os.path.isfile(source):
            raise DalisrError(f"{source} is a file: give a data folder, an LMDB or an options file (.yml)")
        if lq is not None and scale is None:
            raise DalisrError("--paired-with needs --scale (e.g. --scale 4)")
        if scale is not None and lq is None:
            raise DalisrError("--scale is for --paired-with LQ")
        checks = [(verify.open_source(source, meta_info), verify.open_source(lq) if lq else None, scale)]
    total = sum(verify.count_images(g) + (verify.count_images(q) if q else 0) for g, q, _ in checks)
    report = verify.VerifyReport()
    with progress(total, "verify") as bar:
        for gt_source, lq_source, factor in checks:
            part = verify.verify(gt_source, lq_source, factor, workers=workers, progress=bar.update)
            report.checked += part.checked
            report.problems += part.problems
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


COMMANDS = (create_lmdb_cmd, meta_info_cmd, verify_cmd, memcached_load_cmd, warm_cache_cmd)


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)
