"""A small ImageNet-like set of JPEGs from the photographs scikit-image ships (no download).

HAT, DRCT and HMA pretrain on ImageNet's training JPEGs (``ImageNetPairedDataset``:
GT only, the LQ made by bicubic downscaling). This set has what matters for
that path: JPEGs of ImageNet's typical sizes (none a multiple of 3, few of 4),
a few smaller than a 256 crop on a side, and the odd ones ImageNet holds too: a
gray JPEG, a CMYK JPEG, a progressive one, one with an EXIF orientation, and a
PNG named ``.JPEG``. Under ``root``:

```
train/{wnid}/{wnid}_{k}.JPEG     the images, in class folders as ImageNet's
meta_info_ImageNet_GT.txt       'wnid/wnid_k.JPEG (h,w,c)' per image (HAT's meta_info_file reads the first token)
```
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import cv2
import numpy as np

from ..formats.meta_info import format_shape
from .sample_images import load_photo

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
          "cat", "stereo_motorcycle", "camera")
#: (height, width) of the images, in ImageNet's usual proportions; the last two are shorter than 256 on a side
SIZES = ((375, 500), (333, 500), (500, 375), (500, 333), (375, 500), (500, 500), (366, 500), (281, 500),
         (480, 640), (500, 400), (150, 200), (450, 190))
#: image number -> how it is written, beside plain baseline JPEGs
ODD = {3: "gray", 5: "cmyk", 7: "png", 9: "progressive", 10: "exif6"}
QUALITY = 90


@dataclass(frozen=True)
class ImageNetSample:
    root: str

    @property
    def gt_folder(self) -> str:
        return os.path.join(self.root, "train")

    @property
    def meta_info_file(self) -> str:
        return os.path.join(self.root, "meta_info_ImageNet_GT.txt")

    def exists(self) -> bool:
        return os.path.isfile(self.meta_info_file)


def encode_variant(bgr: np.ndarray, kind: str) -> bytes:
    """``bgr`` as a JPEG (or PNG) file of the given ``kind``: plain, gray, cmyk, png, progressive, exif6."""
    if kind == "png":
        return cv2.imencode(".png", bgr)[1].tobytes()
    if kind in ("plain", "gray"):
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if kind == "gray" else bgr
        return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])[1].tobytes()
    from PIL import Image  # CMYK, progressive and EXIF need Pillow's writer

    img = Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))
    out = io.BytesIO()
    if kind == "cmyk":
        img.convert("CMYK").save(out, "JPEG", quality=QUALITY)
    elif kind == "progressive":
        img.save(out, "JPEG", quality=QUALITY, progressive=True)
    elif kind == "exif6":  # stored on its side: decoders turn it a quarter clockwise
        exif = Image.Exif()
        exif[0x0112] = 6
        img.transpose(Image.Transpose.ROTATE_90).save(out, "JPEG", quality=QUALITY, exif=exif.tobytes())
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return out.getvalue()


def photo_at(name: str, height: int, width: int) -> np.ndarray:
    """A BGR photo resized to cover ``height x width`` and cut to it (its middle)."""
    img = load_photo(name)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    img = img[:, :, :3]
    h, w = img.shape[:2]
    f = max(height / h, width / w)
    img = cv2.resize(img, (max(width, round(w * f)), max(height, round(h * f))), interpolation=cv2.INTER_AREA)
    top, left = (img.shape[0] - height) // 2, (img.shape[1] - width) // 2
    return np.ascontiguousarray(img[top:top + height, left:left + width])


def make_imagenet_sample(root: str, count: int = 24) -> ImageNetSample:
    """Write ``count`` ImageNet-like images and their meta info file under ``root``."""
    sample = ImageNetSample(root)
    lines = []
    for k in range(count):
        height, width = SIZES[k % len(SIZES)]
        wnid = f"n{k % 6:08d}"
        rel = f"{wnid}/{wnid}_{k}.JPEG"
        kind = ODD.get(k, "plain")
        data = encode_variant(photo_at(PHOTOS[k % len(PHOTOS)], height, width), kind)
        os.makedirs(os.path.join(sample.gt_folder, wnid), exist_ok=True)
        with open(os.path.join(sample.gt_folder, rel), "wb") as f:
            f.write(data)
        lines.append(f"{rel} {format_shape((height, width, 1 if kind == 'gray' else 3))}\n")
    with open(sample.meta_info_file, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return sample
