"""GT-only samples whose LQ the graph makes from a window: read the value, plan the window from its header.

The value goes to DALI whole (its decoder cuts the box: JPEG region decoding
on the CPU, nvJPEG under ``mixed``), together with a
:class:`dalisr.contract.GTWindow` chosen from the image's size, the scale, the
crop and flip draws and the margin the LQ's kernel needs. A value DALI would not decode
exactly as ``cv2.imdecode`` does (CMYK JPEGs, 16-bit PNGs, other formats) is
decoded here with OpenCV and handed on as a PNG of those pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..degrade.bicubic import downscale_taps
from ..errors import DalisrError
from ..formats.codec import decode_image, encode_png, shape_if_dali_decodes_as_opencv
from ..sampling import effective_flips, gt_window
from ..storage import Store
from .base import Frames
from .encoded import read_checked
from .stats import SourceStats


def window_margin(scale: int) -> int:
    """Rows (columns) a window keeps beyond its GT crop: the downscale kernel's reach, in whole LQ pixels."""
    reach = downscale_taps(scale).reach
    return -(-reach // scale) * scale


def decodable(data: bytes, key: str, where: str) -> tuple[np.ndarray, tuple[int, int]]:
    """The value as DALI should get it (bytes it decodes as OpenCV does) and the decoded (h, w)."""
    shape = shape_if_dali_decodes_as_opencv(data)
    if shape is not None:
        return np.frombuffer(data, dtype=np.uint8), shape
    img = decode_image(data, key, where)  # cv2.IMREAD_COLOR: 3-channel BGR, as BasicSR's imfrombytes
    return np.frombuffer(encode_png(img, level=0), dtype=np.uint8), img.shape[:2]  # stored: quick both ways


@dataclass
class GTWindowReader:
    """Reads each sample's GT value whole and plans its window; ``check_intact`` (``on_error: skip``): a corrupt
    value fails here, where the source can replace its sample, not in DALI's decoder."""

    stores: dict[str, Store]
    scale: int
    gt_size: int | None
    train: bool
    use_hflip: bool = False
    use_rot: bool = False
    check_intact: bool = False
    stats: SourceStats | None = None

    emits_pixels = False
    codec = "png"

    def __post_init__(self) -> None:
        self.margin = window_margin(self.scale)

    def load(self, keys: dict[str, tuple[str, ...]], fractions: np.ndarray, flips: np.ndarray) -> Frames:
        store = self.stores["gt"]
        (key,) = keys["gt"]
        data, read_s = read_checked(store, key, self.check_intact)
        value, (height, width) = decodable(data, key, store.describe())
        try:
            flips3 = effective_flips(flips, self.use_hflip, self.use_rot) if self.train else (0, 0, 0)
            window = gt_window(height, width, self.scale, self.gt_size, fractions, self.train, self.margin, flips3)
        except DalisrError as err:
            raise DalisrError(f"key '{key}' in {store.describe()}: {err}. Fix: remove it from the list") from None
        if self.stats is not None:
            self.stats.add(read_s=read_s, encoded_bytes=len(data),
                           decoded_bytes=window.box_height * window.box_width * 3)
        return Frames([value], extras=(window.array(), window.crop_positions(self.scale)))
