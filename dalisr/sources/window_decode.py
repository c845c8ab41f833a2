"""One value's window, decoded or copied: the pixels of a crop without the rest of the image.

``png`` values: dalisr's row decoder (:mod:`dalisr.formats.png_rows`)
unfilters only the rows down to the window's bottom edge, and of those only
the bytes left of its right edge; ``png-seek`` values start at the restart
point above the window instead of the top. PNG pixels are lossless, so the
window equals the whole decode cut at the same place, bit for bit; the
value's CRCs and (for the rows path) its zlib Adler-32 are checked, so a
truncated or corrupt PNG fails as it does when decoded whole.

Windows are HWC RGB (gray expanded, alpha dropped), the layout DALI's decoder
gives the graph, in one of two dtypes:

* uint8 (BasicSR): ``cv2.imdecode(..., IMREAD_COLOR)``'s pixels. The row
  decoder takes 8-bit gray, gray+alpha, RGB and RGBA PNGs (non-interlaced, no
  tRNS); other PNGs (16-bit ones too: OpenCV keeps their high bytes) and
  non-PNG values are decoded whole with ``IMREAD_COLOR``, exactly as BasicSR does.
* uint16 (readers that keep 16-bit PNGs 16-bit; float = value / 65535): the
  row decoder also takes 16-bit PNGs of those colour types and returns their
  samples; 8-bit values are widened exactly, value * 257 (value / 65535 ==
  8-bit value / 255, as DALI's decoder gives with dtype UINT16). Other values
  are decoded whole with ``IMREAD_ANYDEPTH | IMREAD_ANYCOLOR``, their depth
  kept (``IMREAD_UNCHANGED``'s samples, EXIF orientation applied as
  ``IMREAD_COLOR`` does, so both dtypes see the same geometry).

``raw`` values: the window is sliced from a view into the memory map and
only the window is copied.
"""

from __future__ import annotations

import numpy as np

from ..errors import DalisrError
from ..formats.png_rows import CorruptPng, as_rgb, read_parts, row_decoder_built, window_rows
from ..formats.raw import as_color, is_raw


def decode_png_window(buf: bytes, top: int, left: int, height: int, width: int, key: str = "?",
                      where: str = "?", dtype: type = np.uint8) -> tuple[np.ndarray, int, str]:
    """The RGB window of a PNG (or any image OpenCV reads), the pixel bytes decoded for it, and the path taken.

    ``dtype``: np.uint8 (BasicSR's pixels) or np.uint16 (16-bit PNGs kept
    16-bit, 8-bit values times 257); see the module docstring.
    Paths: ``seek`` (a ``png-seek`` value: from the restart above the window),
    ``rows`` (rows from the top, :mod:`dalisr.formats.png_rows`), ``mismatch``
    (a ``png-seek`` index that did not fit its data: decoded the ``rows`` way)
    and ``whole`` (``cv2.imdecode``: PNGs the row decoder does not take, other formats).
    """
    wide = np.dtype(dtype) == np.uint16
    if not wide and np.dtype(dtype) != np.uint8:
        raise DalisrError(f"PNG windows are uint8 or uint16, not {np.dtype(dtype)}")
    try:
        parts = read_parts(buf)
    except CorruptPng as exc:
        raise _undecodable(key, where, buf, exc) from None
    if (parts is not None and parts.channels is not None and (wide or parts.bit_depth == 8)
            and row_decoder_built()):
        if top + height > parts.height or left + width > parts.width:
            raise _outside(key, where, (parts.height, parts.width), top, left, height, width)
        try:
            rows = window_rows(parts, top, top + height, left + width)
        except CorruptPng as exc:
            raise _undecodable(key, where, buf, exc) from None
        win = as_rgb(rows.pixels[top - rows.first:, left:], parts.bit_depth)
        return (_widen(win) if wide else win), rows.pixels.nbytes, rows.path
    import cv2

    flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR if wide else cv2.IMREAD_COLOR
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), flags)
    if img is None:
        raise _undecodable(key, where, buf)
    win = img[top:top + height, left:left + width]
    if win.shape[:2] != (height, width):
        raise _outside(key, where, img.shape, top, left, height, width)
    if not wide:
        return np.ascontiguousarray(win[:, :, ::-1]), img.nbytes, "whole"
    if img.dtype not in (np.uint8, np.uint16):
        raise DalisrError(f"key '{key}' in {where} decodes to {img.dtype} samples; 16-bit windows take 8- or "
                          "16-bit images. Fix: store it as a 16-bit PNG")
    if win.ndim == 2:
        win = win[:, :, None]
    out = np.empty((height, width, 3), np.uint16)
    out[...] = win[:, :, 2::-1] if win.shape[2] >= 3 else win[:, :, :1]  # BGR(A) -> RGB; gray expanded
    if img.dtype == np.uint8:
        out *= 257
    return out, img.nbytes, "whole"


def _widen(win: np.ndarray) -> np.ndarray:
    """A window as uint16: 8-bit values times 257 (exact: value / 65535 == 8-bit value / 255), 16-bit ones kept."""
    if win.dtype == np.uint16:
        return win
    out = win.astype(np.uint16)
    out *= 257
    return out


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
