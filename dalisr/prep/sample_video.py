"""A small REDS-like video set from the photographs scikit-image ships (no download).

Each clip is a window panning across one photo; LQ frames are the x4 block
means (``cv2.INTER_AREA``) of the GT frames, so every LQ pixel is exactly
aligned with its GT block. Frames are 144 x 192 GT, 36 x 48 LQ: BasicVSR's SpyNet
needs LQ frames of more than 32 pixels on each side (at 32 its coarsest flow level is empty), so
a real BasicVSR validates on whole clips and trains on 132-pixel GT crops
(pipelines/basicvsr_reds_sample.yml). The layout follows BasicSR's REDS paths, under ``root``:

```
train_sharp/{clip}/{frame:08d}.png          GT frames (clips 000 001 002 011; 000, 011 are REDS4 val clips)
train_sharp_bicubic/X4/{clip}/...           LQ frames
meta_info_REDS_GT.txt                       'clip frames (h,w,c)' per clip
REDS4/GT/{000,011}, REDS4/sharp_bicubic/{000,011}   the val clips, as BasicSR's REDS4 folders
```
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from ..formats.codec import encode_png
from .sample_images import PHOTOS, downscale, load_photo

log = logging.getLogger(__name__)

CLIPS = ("000", "001", "002", "011")
VAL_CLIPS = ("000", "011")
SCALE = 4


@dataclass(frozen=True)
class SampleReds:
    """Where the sample REDS set lies."""

    root: str

    @property
    def gt(self) -> str:
        return os.path.join(self.root, "train_sharp")

    @property
    def lq(self) -> str:
        return os.path.join(self.root, "train_sharp_bicubic", "X4")

    @property
    def meta_info(self) -> str:
        return os.path.join(self.root, "meta_info_REDS_GT.txt")

    def val(self, role: str) -> str:
        return os.path.join(self.root, "REDS4", "GT" if role == "gt" else "sharp_bicubic")


def make_sample_reds(root: str, *, frames: int = 10, height: int = 144, width: int = 192,
                     step: tuple[int, int] = (4, 8)) -> SampleReds:
    """Write the clips: frame ``f`` of a clip is the ``height x width`` window at ``f * step`` of its photo."""
    out = SampleReds(os.path.abspath(root))
    if height % SCALE or width % SCALE:
        raise ValueError(f"height and width must be multiples of {SCALE}")
    for number, clip in enumerate(CLIPS):
        photo = load_photo(PHOTOS[number % len(PHOTOS)])
        if photo.ndim == 2:
            photo = photo[:, :, None].repeat(3, axis=2)
        photo = photo[:, :, :3]
        for f in range(frames):
            top, left = f * step[0], f * step[1]
            gt = np.ascontiguousarray(photo[top:top + height, left:left + width])
            if gt.shape[:2] != (height, width):
                raise ValueError(f"photo {PHOTOS[number % len(PHOTOS)]} is too small for {frames} frames")
            versions = {"gt": gt, "lq": downscale(gt, SCALE)}
            for role, img in versions.items():
                folders = [out.gt if role == "gt" else out.lq]
                if clip in VAL_CLIPS:
                    folders.append(out.val(role))
                data = encode_png(img, 1)
                for folder in folders:
                    os.makedirs(os.path.join(folder, clip), exist_ok=True)
                    with open(os.path.join(folder, clip, f"{f:08d}.png"), "wb") as fh:
                        fh.write(data)
    with open(out.meta_info, "w", encoding="utf-8") as fh:
        fh.write("".join(f"{clip} {frames} ({height},{width},3)\n" for clip in CLIPS))
    log.info("sample REDS set (%d clips of %d frames) written to %s", len(CLIPS), frames, out.root)
    return out
