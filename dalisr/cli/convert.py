"""``dalisr convert``: a BasicSR LMDB between PNG, seekable PNG, the zero-decode raw codec and lossless JPEG 2000."""

from __future__ import annotations

import os

import click

from .common import progress, user_errors


@click.command("convert")
@click.argument("src", metavar="SRC.lmdb", type=click.Path(exists=True, file_okay=False))
@click.argument("dst", metavar="DST.lmdb", type=click.Path())
@click.option("--codec", type=click.Choice(["raw", "png", "jp2", "png-seek"]), default="raw", show_default=True,
              help="raw: decoded pixels behind a header, cropped without decoding; png: BasicSR's PNG values; "
                   "jp2: lossless JPEG 2000, which dalisr's GPU path decodes on the GPU; png-seek: standard PNGs "
                   "(BasicSR reads them) that dalisr decodes from the restart point above a training crop.")
@click.option("--level", type=click.IntRange(0, 9), default=None,
              help="PNG compression level of re-encoded values (default 1; PNG -> PNG without it copies values).")
@click.option("--workers", "-j", type=click.IntRange(min=0), default=1, show_default=True,
              help="Processes that decode and encode (0 = one per CPU core).")
@click.option("--overwrite", is_flag=True, help="Replace DST if it already exists.")
@user_errors
def convert(src: str, dst: str, codec: str, level: int | None, workers: int, overwrite: bool) -> None:
    """Write DST.lmdb with every value of SRC.lmdb in --codec, same keys, same order.

    Raw values are the decoded pixels (cv2.IMREAD_UNCHANGED, 8-bit) behind a
    24-byte header whose magic is no image format: dalisr's loader slices
    training crops straight out of the memory map, while BasicSR's cv2.imdecode
    returns None for them and its loader fails at once. meta_info.txt keeps
    BasicSR's 'name.png (h,w,c)' and says 'raw' where the PNG level was. Raw
    values take h*w*c bytes each (several times PNG): keep data.mdb within RAM.

    jp2 values are lossless JPEG 2000 (same pixels; meta info level 'jp2'):
    PNG is decoded on the CPU even on a GPU machine, JPEG 2000 by the GPU
    (nvJPEG2000), which frees the CPU cores there. On a CPU they decode several
    times slower than PNG. BasicSR's cv2.imdecode reads them as well.

    png-seek values are standard PNGs (any decoder, BasicSR's included, gives
    the same pixels) with a restart point every 16 rows and a private chunk
    indexing them: dalisr decodes a training crop from the restart above it,
    about half the rows of a plain PNG, for a few percent more bytes.

    \b
    dalisr convert DIV2K_train_HR_sub.lmdb DIV2K_train_HR_sub_raw.lmdb --codec raw
    dalisr convert DIV2K_train_HR_sub.lmdb DIV2K_train_HR_sub_jp2.lmdb --codec jp2
    dalisr convert DIV2K_train_HR_sub.lmdb DIV2K_train_HR_sub_seek.lmdb --codec png-seek
    """
    from ..prep.convert import convert_lmdb
    from ..prep.pool import check_workers

    with progress(None, os.path.basename(dst.rstrip("/"))) as bar:
        result = convert_lmdb(src, dst, codec, level=level, workers=check_workers(workers), overwrite=overwrite,
                              progress=bar.update)
    click.echo(f"{result.count} values {result.src_codec} -> {result.codec} written to {dst} "
               f"({result.src_bytes / 1e6:.1f} MB -> {result.dst_bytes / 1e6:.1f} MB)")


def register(group: click.Group) -> None:
    group.add_command(convert)
