"""``tfrecords-to-images``: FFHQ / CelebA TFRecords to PNG files or a BasicSR LMDB.

Records are ``tf.train.Example`` protos with ``shape`` (int64 list) and
``data`` (raw uint8 RGB pixels): FFHQ stores ``shape = (c, h, w)`` and CHW
pixels (StyleGAN's dataset_tool), CelebA (Glow's celeba-tfr) ``shape =
(h, w, c)`` and HWC pixels. Images are numbered from 0 across the matched files
in sorted order and written as ``{idx:08d}.png`` (BGR, through OpenCV), or into
an LMDB under ``{idx:08d}/r{log_res:02d}``, as BasicSR's
extract_images_from_tfrecords.py does.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import DalisrError
from ..formats.codec import encode_png, image_shape
from .files import staged_folder, write_bytes
from .lmdb_writer import LmdbWriter
from .pool import ordered_map
from .safe_output import tree_bytes
from .tfrecord import ProtoError, RawRecord, count_records, iter_raw_records, parse_example

log = logging.getLogger(__name__)

FORMATS = ("ffhq", "celeba")
SAVE_AS = ("folder", "lmdb")


def match_files(pattern: str) -> list[str]:
    files = sorted(p for p in glob.glob(os.path.expanduser(pattern)) if os.path.isfile(p))
    if not files:
        raise DalisrError(f"no TFRecord file matches '{pattern}'. Fix: check the path, and quote the pattern "
                          "so the shell does not expand it (e.g. 'ffhq/ffhq-r10.tfrecords')")
    return files


def record_image(record: RawRecord, fmt: str, log_resolution: int) -> np.ndarray:
    """The BGR (or gray) image of one record, every check done (CRC, fields, sizes)."""
    where = f"{record.path}: record at byte offset {record.offset}"
    data = record.check()
    try:
        features = parse_example(data)
    except (ProtoError, UnicodeDecodeError) as exc:
        raise DalisrError(f"{where} is not a tf.train.Example ({exc}). Fix: re-download the file") from None
    shape, pixels = features.get("shape"), features.get("data")
    if shape is None or shape.kind != "int64" or len(shape.values) != 3:
        raise DalisrError(f"{where} has no 3-value int64 'shape' feature: not an FFHQ/CelebA record")
    if pixels is None or pixels.kind != "bytes" or not pixels.values:
        raise DalisrError(f"{where} has no bytes 'data' feature: not an FFHQ/CelebA record")
    if fmt == "ffhq":
        c, h, w = shape.values
    else:
        h, w, c = shape.values
    if c not in (1, 3) or h < 1 or w < 1:
        raise DalisrError(f"{where} has shape {tuple(shape.values)}: wrong --format ({fmt} reads "
                          f"{'(c,h,w)' if fmt == 'ffhq' else '(h,w,c)'}) or not an image record")
    arr = np.frombuffer(pixels.values[0], dtype=np.uint8)
    if arr.size != c * h * w:
        raise DalisrError(f"{where} holds {arr.size} bytes of pixels, its shape {tuple(shape.values)} needs "
                          f"{c * h * w}. Fix: re-download the file")
    size = 2 ** log_resolution
    if (h, w) != (size, size):
        raise DalisrError(f"{where} is {h}x{w}, not 2**{log_resolution} = {size}. Fix: pass --log-resolution "
                          f"matching the file (FFHQ's ffhq-rNN.tfrecords holds 2**NN images)")
    img = arr.reshape(c, h, w).transpose(1, 2, 0) if fmt == "ffhq" else arr.reshape(h, w, c)
    img = img[:, :, 0] if c == 1 else img[:, :, ::-1]  # RGB -> BGR, as OpenCV writes
    return np.ascontiguousarray(img)


def _convert(job: tuple[RawRecord, str, int, int]) -> tuple[bytes, tuple[int, int, int]]:
    record, fmt, log_resolution, level = job
    img = record_image(record, fmt, log_resolution)
    return encode_png(img, level), image_shape(img)


def count_all(files: list[str]) -> int:
    return sum(count_records(p) for p in files)


def tfrecords_to_images(files: list[str], output: str, *, log_resolution: int = 10, fmt: str = "ffhq",
                        save_as: str = "folder", compress_level: int = 1, workers: int = 1,
                        overwrite: bool = False, progress: Callable[[int], None] | None = None) -> int:
    """Write every record's image to ``output`` (folder or .lmdb); the number written.

    A truncated or corrupt record stops the run with the file and byte offset
    named, and nothing is left at ``output``.
    """
    if fmt not in FORMATS:
        raise DalisrError(f"--format '{fmt}' is not known. Fix: use one of {', '.join(FORMATS)}")
    if save_as not in SAVE_AS:
        raise DalisrError(f"--save-as '{save_as}' is not known. Fix: use one of {', '.join(SAVE_AS)}")
    if not 0 <= compress_level <= 9:
        raise DalisrError(f"--compress-level must be 0..9, got {compress_level}")
    if not 1 <= log_resolution <= 15:
        raise DalisrError(f"--log-resolution must be 1..15, got {log_resolution}")

    def jobs() -> Iterator[tuple[RawRecord, str, int, int]]:
        for path in files:
            for record in iter_raw_records(path):
                yield record, fmt, log_resolution, compress_level

    count = 0
    expected = tree_bytes(files) // 2  # raw pixels in the records, PNGs out
    if save_as == "lmdb":
        with LmdbWriter(output, overwrite=overwrite, expected_bytes=expected) as writer:
            for data, shape in ordered_map(_convert, jobs(), workers):
                key = f"{count:08d}/r{log_resolution:02d}"
                writer.put(key, data, f"{key}.png", shape, compress_level)
                count += 1
                if progress:
                    progress(1)
            _require_some(count, files)
    else:
        with staged_folder(output, overwrite, expected_bytes=expected) as tmp:
            for data, _ in ordered_map(_convert, jobs(), workers):
                write_bytes(os.path.join(tmp, f"{count:08d}.png"), data)
                count += 1
                if progress:
                    progress(1)
            _require_some(count, files)
    return count


def _require_some(count: int, files: list[str]) -> None:
    if count == 0:  # raised inside the writer's block: nothing is left at the output
        raise DalisrError(f"{', '.join(files)} holds no record (empty file). Fix: re-download it")
