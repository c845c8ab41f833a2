"""One value's window, decoded or copied: the pixels of a crop without the rest of the image.

``png`` values: dalisr's row decoder (:mod:`dalisr.formats.png_rows`)
unfilters only the rows down to the window's bottom edge, and of those only
the bytes left of its right edge; ``png-seek`` values start at the restart
point above the window instead of the top. PNG pixels are lossless, so the
window equals ``cv2.imdecode(..., IMREAD_COLOR)`` cut at the same place, bit
for bit; the value's CRCs and (for the rows path) its zlib Adler-32 are
checked, so a truncated or corrupt PNG fails as it does when decoded whole.
PNGs outside the row decoder (16-bit, palette, interlaced, tRNS) and non-PNG
values are decoded whole with ``cv2.imdecode``, exactly as BasicSR does.
``raw`` values: the window is sliced from a view into the memory map and
only the window is copied. Windows are HWC uint8 RGB (``IMREAD_COLOR``'s
channels: gray expanded, alpha dropped), the layout DALI's decoder gives the graph.
"""

from __future__ import annotations

import numpy as np

from ..errors import DalisrError
from ..formats.png_rows import CorruptPng, as_rgb, read_parts, row_decoder_built, window_rows
from ..formats.raw import as_color, is_raw


def decode_png_window(buf: bytes, top: int, left: int, height: int, width: int, key: str = "?",
                      where: str = "?") -> tuple[np.ndarray, int, str]:
    """The RGB window of a PNG (or any image OpenCV reads), the pixel bytes decoded for it, and the path taken.

    Paths: ``seek`` (a ``png-seek`` value: from the restart above the window),
    ``rows`` (rows from the top, :mod:`dalisr.formats.png_rows`), ``mismatch``
    (a ``png-seek`` index that did not fit its data: decoded the ``rows`` way)
    and ``whole`` (``cv2.imdecode``: PNGs the row decoder does not take, other formats).
    """
    try:
        parts = read_parts(buf)
    except CorruptPng as exc:
        raise _undecodable(key, where, buf, exc) from None
    if parts is not None and parts.channels is not None and row_decoder_built():
        if top + height > parts.height or left + width > parts.width:
            raise _outside(key, where, (parts.height, parts.width), top, left, height, width)
        try:
            rows = window_rows(parts, top, top + height, left + width)
        except CorruptPng as exc:
            raise _undecodable(key, where, buf, exc) from None
        win = as_rgb(rows.pixels[top - rows.first:, left:])
        return win, rows.pixels.nbytes, rows.path
    import cv2

    img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise _undecodable(key, where, buf)
    win = img[top:top + height, left:left + width, ::-1]
    if win.shape[:2] != (height, width):
        raise _outside(key, where, img.shape, top, left, height, width)
    return np.ascontiguousarray(win), img.nbytes, "whole"


def _undecodable(key: str, where: str, buf, reason: Exception | None = None) -> DalisrError:
    extra = " (it is a raw-codec value: those are read from LMDBs whose meta_info.txt says raw)" if is_raw(buf) else ""
    if reason is not None:
        extra += f": {reason}"
    return DalisrError(f"key '{key}' in {where} does not decode as an image ({len(buf)} bytes){extra}. "
                       "Fix: re-create it from the source image")


def _outside(key, where, shape, top, left, height, width) -> DalisrError:
    return DalisrError(f"key '{key}' in {where}: the {height}x{width} window at ({top}, {left}) leaves the image "
                       f"of shape {tuple(shape)}. Fix: check gt_size and scale against the image sizes")


def raw_window(view: np.ndarray, top: int, left: int, height: int, width: int, key: str = "?",
               where: str = "?") -> np.ndarray:
    """The RGB window of raw pixels (a view into the memory map): only the window is copied."""
    win = as_color(view)[top:top + height, left:left + width, ::-1]
    if win.shape[:2] != (height, width):
        raise _outside(key, where, view.shape, top, left, height, width)
    return np.ascontiguousarray(win)


def decoded_shape(data: bytes, key: str, where: str) -> tuple[int, int]:
    """(height, width) of a value the row decoder does not read, decoded whole with OpenCV."""
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise _undecodable(key, where, data)
    return img.shape[:2]
