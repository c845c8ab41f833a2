"""PNG windows decoded row-wise in the source equal cv2.imdecode(IMREAD_COLOR) cut at the same place."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from dalisr import DalisrError
from dalisr.sources.window_decode import decode_png_window

RNG = np.random.default_rng(7)


def _photo_like(h, w, c):
    """Smooth gradients plus noise: PNG's filters pick every filter type on such rows."""
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 3 + y * 5) % 256
    img = (base[:, :, None] + RNG.integers(0, 40, (h, w, c))) % 256
    return img.astype(np.uint8)


def _pil_png(img, mode):
    buf = io.BytesIO()
    Image.fromarray(img, mode).save(buf, "PNG")
    return buf.getvalue()


CASES = {
    "bgr level 1": lambda: cv2.imencode(".png", _photo_like(97, 83, 3), [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes(),
    "bgr level 9": lambda: cv2.imencode(".png", _photo_like(64, 70, 3), [cv2.IMWRITE_PNG_COMPRESSION, 9])[1].tobytes(),
    "gray": lambda: cv2.imencode(".png", _photo_like(50, 61, 1)[:, :, 0])[1].tobytes(),
    "bgra": lambda: cv2.imencode(".png", _photo_like(40, 45, 4))[1].tobytes(),
    "16-bit (whole decode)": lambda: cv2.imencode(".png", _photo_like(40, 45, 3).astype(np.uint16) * 257)[1].tobytes(),
    "palette (whole decode)": lambda: _pil_palette_png(_photo_like(40, 45, 3)),
    "pillow rgb": lambda: _pil_png(_photo_like(33, 80, 3), "RGB"),
    "jpeg (whole decode)": lambda: cv2.imencode(".jpg", _photo_like(48, 48, 3))[1].tobytes(),
}


def _pil_palette_png(img):
    buf = io.BytesIO()
    Image.fromarray(img, "RGB").quantize(64).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("name", list(CASES))
def test_window_equals_opencv_decode_then_slice(name):
    data = CASES[name]()
    full = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    h, w = full.shape[:2]
    for top, left, size in [(0, 0, 16), (h - 16, w - 16, 16), (5, 7, 20), (h // 2, 0, 12), (0, w - 9, 9)]:
        win, decoded = decode_png_window(data, top, left, size, size, "k", "here")[:2]
        expected = full[top:top + size, left:left + size, ::-1]  # RGB
        assert win.shape == (size, size, 3) and win.dtype == np.uint8 and win.flags.c_contiguous
        assert np.array_equal(win, expected), (name, top, left)
        assert decoded > 0


def test_fast_path_decodes_only_rows_down_to_the_window_and_columns_left_of_its_right_edge():
    data = cv2.imencode(".png", _photo_like(200, 50, 3))[1].tobytes()
    _, decoded = decode_png_window(data, 10, 0, 20, 20)[:2]
    assert decoded == 30 * 20 * 3
    _, whole = decode_png_window(data, 180, 30, 20, 20)[:2]
    assert whole == 200 * 50 * 3


def test_truncated_png_fails_even_when_the_window_is_intact():
    data = cv2.imencode(".png", _photo_like(120, 120, 3))[1].tobytes()
    with pytest.raises(DalisrError, match=r"key 'a.png' in disk store x does not decode as an image"):
        decode_png_window(data[: len(data) * 3 // 4], 0, 0, 16, 16, "a.png", "disk store x")[:2]
    with pytest.raises(DalisrError, match="leaves the image"):
        decode_png_window(data, 110, 0, 16, 16, "a.png", "disk store x")[:2]


def test_png_windows_are_chosen_only_where_the_workers_can_carry_the_decoding():
    from dalisr.sources.choose import workers_decode_png

    def pays(workers, threads=2, png=True, crop=True, cores=2):
        return workers_decode_png(png, crop, workers, threads, cores)

    assert pays(8) and pays(1, threads=1) and pays(2, threads=None)
    assert not pays(0, threads=1) and not pays(8, png=False) and not pays(8, crop=False)
    assert not pays(1, threads=4) and pays(1, threads=4, cores=1) and not pays(1, threads=None)
