"""The window a BicubicFromGT sample decodes (dalisr.sampling.gt_window) and the graph step that makes GT and
LQ from it (dalisr.graph.bicubic): crops at every border of the image equal HAT's whole-image reference."""

from __future__ import annotations

import numpy as np
import pytest

from dalisr.contract import GTWindow
from dalisr.errors import DalisrError
from dalisr.graph.bicubic import gt_lq_from_window
from dalisr.graph.ops import GraphSpec
from dalisr.prep.sample_imagenet import encode_variant, photo_at
from dalisr.sampling import gt_window, window_anchor
from dalisr.sources.gt_windows import decodable, window_margin
from tests.bicubic_reference import hat_item
from tests.bicubic_support import GT_SIZES, lq_size

CORNERS = {"top-left": (0.0, 0.0), "bottom-right": (0.99999, 0.99999), "top-right": (0.0, 0.99999),
           "bottom-left": (0.99999, 0.0), "inside": (0.5, 0.4)}


def run_graph(values: list[np.ndarray], windows: list[GTWindow], scale: int) -> list[dict]:
    """The graph step on CPU for (value, window) pairs: GT and LQ as CHW float32 numpy."""
    from nvidia.dali import fn, pipeline_def, types

    spec = GraphSpec(phase="val", scale=scale)

    @pipeline_def(batch_size=len(values), num_threads=1, device_id=None, enable_conditionals=True)
    def pipe():
        encoded, window, crops = fn.external_source(
            source=lambda: (values, [w.array() for w in windows], [w.crop_positions(scale) for w in windows]),
            num_outputs=3, batch=True, dtype=[types.UINT8, types.INT32, types.FLOAT])
        images = gt_lq_from_window(encoded, window, crops, spec)
        return images["gt"], images["lq"]

    p = pipe()
    p.build()
    gts, lqs = p.run()
    return [{"gt": np.array(gts[i]), "lq": np.array(lqs[i])} for i in range(len(values))]


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(375, 500), (281, 500), (150, 200), (450, 190)])
def test_crops_at_every_border_equal_the_whole_image_reference(scale, size):
    data = encode_variant(photo_at("coffee", *size), "plain")
    value, (h, w) = decodable(data, "k", "test")
    gt_size, margin = GT_SIZES[scale], window_margin(scale)
    windows = {name: gt_window(h, w, scale, gt_size, np.float32(f), True, margin) for name, f in CORNERS.items()}
    got = dict(zip(windows, run_graph([value] * len(windows), list(windows.values()), scale)))
    lq_h, lq_w = lq_size(h, w, scale, gt_size)
    for name, fractions in CORNERS.items():
        top_left = window_anchor(np.float32(fractions), lq_h, lq_w, gt_size // scale)
        ref = hat_item(data, scale=scale, gt_size=gt_size, train=True, top_left=top_left, flips=(0, 0, 0))
        for key in ("gt", "lq"):
            assert got[name][key].shape == ref[key].shape
            assert np.abs(got[name][key] - ref[key]).max() <= 1e-5, (name, key)
    bottom_right = windows["bottom-right"]
    if h - h % scale >= gt_size:  # not upscaled: the box meets the bottom edge, with the margin above it
        assert bottom_right.box_top + bottom_right.box_height == h - h % scale
        assert bottom_right.gt_top == margin and windows["top-left"].box_top == 0


def test_a_window_decodes_only_the_crop_and_its_margin():
    window = gt_window(375, 500, 4, 256, np.float32([0.5, 0.5]), True, window_margin(4))
    assert (window.box_height, window.box_width) == (256 + 16, 256 + 16)
    assert (window.gt_top, window.gt_left, window.lq_top, window.lq_left) == (8, 8, 2, 2)
    assert window.upscaled == 0 and window.box_height * window.box_width < 0.45 * 375 * 500


def test_an_axis_shorter_than_gt_size_is_decoded_whole_and_upscaled():
    window = gt_window(150, 501, 3, 192, np.float32([0.2, 0.7]), True, window_margin(3))
    assert (window.box_top, window.box_height, window.window_height) == (0, 150, 192)  # modcrop 150, up to 192
    assert window.upscaled == 1 and window.box_width == window.window_width < 501
    val = gt_window(150, 501, 3, 192, np.float32([0, 0]), False, window_margin(3))
    assert (val.box_height, val.box_width, val.window_height, val.window_width) == (150, 501, 192, 501)
    assert (val.lq_height, val.lq_width) == (64, 167)


def test_the_margin_covers_the_kernel():
    from dalisr.degrade.bicubic import downscale_taps

    for scale in (2, 3, 4, 8):
        assert window_margin(scale) % scale == 0 and window_margin(scale) >= downscale_taps(scale).reach


def test_an_image_smaller_than_the_scale_is_refused():
    with pytest.raises(DalisrError, match=r"smaller than the scale 4"):
        gt_window(3, 100, 4, 256, np.float32([0, 0]), True, 8)
