"""``create-lmdb``: BasicSR's create_lmdb.py key rules and make_lmdb_from_imgs, made safe.

Keys (the LMDB key; meta_info.txt names it ``key.png``):

* ``div2k``: every ``*.png`` directly in IN, key = file name without ``.png`` (``0001_s001``);
* ``folder``: every image directly in IN (png/jpg/bmp/...), key = file name without extension;
* ``tree``: every image in and below IN, key = its path below IN without extension (``sub/0001``): how
  traiNNer-redux's folders pair GT and LQ (by stem, whatever the extension); two files of one stem are refused,
  and so is an embedded colour profile other than sRGB (traiNNer-redux converts those, the PNG values would not);
* ``reds``: ``IN/clip/frame.png``, key ``clip/frame`` (``000/00000000``);
* ``vimeo90k``: the sequences of ``sep_trainlist.txt``, ``IN/clip/seq/imN.png``, key ``clip/seq/imN``;
  mode ``gt`` keeps only ``im4``, mode ``lq`` all seven frames.

Values are the images read with ``cv2.IMREAD_UNCHANGED`` and re-encoded as PNG
at the given compression level, as BasicSR does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import DalisrError
from ..formats.codec import encode_value, header_shape, image_shape
from ..formats.icc import check_srgb
from ..formats.meta_info import CODECS, read_sequence_list
from .files import list_images, read_bytes, read_image, require_folder
from .lmdb_writer import DEFAULT_BATCH, LmdbWriter
from .pool import ordered_map
from .safe_output import tree_bytes

log = logging.getLogger(__name__)

DATASETS = ("div2k", "reds", "vimeo90k", "folder", "tree")
VIMEO_FRAMES = 7


@dataclass(frozen=True)
class LmdbItem:
    """One image to store: its path relative to the input folder, its key, and its group.

    Images of one group (a REDS clip, a Vimeo90K sequence) must share one size.
    """

    path: str
    key: str
    group: str | None = None


def plan_lmdb(input_folder: str, dataset: str, *, train_list: str | None = None, mode: str = "gt") -> list[LmdbItem]:
    """The images to store and their keys, in the order they will be written."""
    if dataset not in DATASETS:
        raise DalisrError(f"--dataset '{dataset}' is not known. Fix: use one of {', '.join(DATASETS)}")
    if dataset == "div2k":
        return [LmdbItem(rel, rel[: -len(".png")]) for rel in list_images(input_folder, extensions=(".png",))]
    if dataset in ("folder", "tree"):
        items = [LmdbItem(rel, os.path.splitext(rel)[0])
                 for rel in list_images(input_folder, recursive=dataset == "tree")]
        seen: dict[str, str] = {}
        for it in items:
            if it.key in seen:
                raise DalisrError(f"{input_folder} holds {seen[it.key]} and {it.path}: one key, two files. Nothing "
                                  "was written. Fix: keep one of them")
            seen[it.key] = it.path
        return items
    if dataset == "reds":
        items = []
        for rel in list_images(input_folder, recursive=True, extensions=(".png",)):
            if rel.count("/") != 1:
                raise DalisrError(f"{os.path.join(input_folder, rel)} is not at IN/clip/frame.png (REDS layout). "
                                  "Fix: pass the folder holding the clip folders 000, 001, ...")
            items.append(LmdbItem(rel, rel[: -len(".png")], rel.split("/")[0]))
        return items
    # vimeo90k
    if mode not in ("gt", "lq"):
        raise DalisrError(f"--mode '{mode}' is not known. Fix: gt (im4 only) or lq (all 7 frames)")
    if not train_list:
        raise DalisrError("--dataset vimeo90k needs --train-list (Vimeo90K's sep_trainlist.txt)")
    require_folder(input_folder)
    frames = [4] if mode == "gt" else list(range(1, VIMEO_FRAMES + 1))
    seqs = read_sequence_list(train_list, "--train-list")
    items = [LmdbItem(f"{seq}/im{j}.png", f"{seq}/im{j}", seq) for seq in seqs for j in frames]
    missing = [it.path for it in items if not os.path.isfile(os.path.join(input_folder, it.path))]
    if missing:
        raise DalisrError(f"{len(missing)} of {len(items)} frames listed by {train_list} are not in {input_folder}, "
                          f"first {os.path.join(input_folder, missing[0])}. Fix: pass the sequences folder "
                          "(vimeo_septuplet/sequences) or the LR folder matching this list")
    return items


def _encode_one(job: tuple[str, str, int, bool]) -> tuple[bytes, tuple[int, int, int], int | str]:
    """(value, shape, meta level) of one image file in ``codec``: runs in the workers. ``srgb_only``: refuse an
    embedded colour profile other than sRGB (re-encoding drops it, where traiNNer-redux would convert)."""
    path, codec, level, srgb_only = job
    if srgb_only:
        check_srgb(read_bytes(path), path, "the input folder")
    img = read_image(path)
    try:
        value, meta_level = encode_value(img, codec, level)
    except DalisrError as exc:
        raise DalisrError(f"{path}: {exc}") from None
    return value, image_shape(img), meta_level


def check_key_names(items: list[LmdbItem], input_folder: str, limit: int = 5) -> None:
    """Refuse, before anything is written, names that BasicSR's meta_info.txt cannot hold.

    Its lines are split on whitespace (a space in a name breaks every reader)
    and its keys must be ASCII.
    """
    spaced = [it.path for it in items if any(ch.isspace() for ch in it.key)]
    if spaced:
        raise DalisrError(
            f"{len(spaced)} file name(s) in {input_folder} contain spaces, which BasicSR's meta_info.txt cannot "
            f"hold (first: {', '.join(repr(p) for p in spaced[:limit])}). Nothing was written. "
            "Fix: rename them without spaces (e.g. replace spaces by '_')")
    foreign = [it.path for it in items if not it.key.isascii()]
    if foreign:
        raise DalisrError(
            f"{len(foreign)} file name(s) in {input_folder} are not ASCII (BasicSR's keys must be; first: "
            f"{', '.join(repr(p) for p in foreign[:limit])}). Nothing was written. Fix: rename them")


LMDB_VALUE_OVERHEAD = 4096  # a value over a page takes whole overflow pages, plus its branch entry


def estimate_lmdb_bytes(paths: list[str], codec: str) -> int:
    """About how large the LMDB of ``paths`` in ``codec`` will be (for the free-space check).

    PNG and JPEG 2000 values are about as large as the files; raw values are the
    pixels, read from the PNG headers (other files: three times their size).
    """
    if codec != "raw":
        return tree_bytes(paths) + LMDB_VALUE_OVERHEAD * len(paths)
    total = 0
    for path in paths:
        try:
            with open(path, "rb") as f:
                shape = header_shape(f.read(4096))
        except OSError:
            shape = None
        total += shape[0] * shape[1] * shape[2] if shape else 3 * tree_bytes([path])
    return total + LMDB_VALUE_OVERHEAD * len(paths)


def create_lmdb(input_folder: str, output: str, items: list[LmdbItem], *, compress_level: int = 1,
                workers: int = 1, batch: int = DEFAULT_BATCH, overwrite: bool = False,
                progress: Callable[[int], None] | None = None, codec: str = "png", srgb_only: bool = False) -> int:
    """Write ``items`` into the LMDB ``output`` (with meta_info.txt); the number of images written.

    ``codec="raw"`` stores decoded pixels instead of PNG (meta info level ``raw``),
    ``codec="jp2"`` lossless JPEG 2000 (level ``jp2``), ``codec="png-seek"``
    seekable PNGs at zlib ``compress_level`` (level ``png-seek``).

    Workers read and encode; this process writes, in the order of ``items``,
    committing every ``batch`` images. A failure or Ctrl-C leaves nothing at
    ``output``.
    """
    if not 0 <= compress_level <= 9:
        raise DalisrError(f"--compress-level must be 0..9, got {compress_level}")
    if not items:
        raise DalisrError(f"nothing to write from {input_folder}")
    if codec not in CODECS:
        raise DalisrError(f"--codec '{codec}' is not one of {', '.join(CODECS)}")
    check_key_names(items, input_folder)
    group_shape: dict[str, tuple[tuple[int, int, int], str]] = {}
    jobs = [(os.path.join(input_folder, it.path), codec, compress_level, srgb_only) for it in items]
    with LmdbWriter(output, batch=batch, overwrite=overwrite,
                    expected_bytes=estimate_lmdb_bytes([job[0] for job in jobs], codec)) as writer:
        for item, (data, shape, level) in zip(items, ordered_map(_encode_one, jobs, workers)):
            if item.group is not None:
                first = group_shape.setdefault(item.group, (shape, item.path))
                if first[0] != shape:
                    raise DalisrError(
                        f"{os.path.join(input_folder, item.path)} is {shape} but {first[1]} of the same clip is "
                        f"{first[0]}: frames of one clip must share one size. Fix: re-extract that clip"
                    )
            writer.put(item.key, data, f"{item.key}.png", shape, level)
            if progress:
                progress(1)
    log.info("wrote %d images into %s", len(items), output)
    return len(items)
