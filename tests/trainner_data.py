"""A traiNNer-redux-style data tree made by the tests: real files of every kind its users have.

Two GT/LQ folder pairs (``hr``/``lr`` and ``hr2``/``lr2``), x4, LQ the area
downscale of its GT: 8-bit RGB PNG GT with a lossless WebP LQ, a 16-bit RGB
pair, an 8-bit gray GT with a JPEG LQ in a subfolder, a 16-bit gray pair, an
RGBA pair, a PNG GT with a lossy WebP LQ, and a pair whose PNGs embed an sRGB
colour profile. Photos from scikit-image.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import cv2
import numpy as np
import yaml

SCALE = 4


@dataclass(frozen=True)
class TrainnerTree:
    root: str

    @property
    def gt(self) -> list[str]:
        return [os.path.join(self.root, "hr"), os.path.join(self.root, "hr2")]

    @property
    def lq(self) -> list[str]:
        return [os.path.join(self.root, "lr"), os.path.join(self.root, "lr2")]

    def section(self, phase: str = "val", **extra) -> dict:
        """A traiNNer-redux dataset section over both folder pairs."""
        sec = {"name": f"tree {phase}", "type": "pairedimagedataset", "dataroot_gt": self.gt, "dataroot_lq": self.lq,
               "phase": phase}
        if phase == "train":
            sec.update(lq_size=16, batch_size_per_gpu=4, num_worker_per_gpu=0)
        sec.update(extra)
        return sec

    def options_file(self, path: str, train: dict | None = None, val: dict | None = None, **top) -> str:
        """A whole traiNNer-redux options file (SPAN_S template's layout) with these sections."""
        opt = {"name": "4x_tree", "scale": SCALE, "num_gpu": "auto", **top,
               "datasets": {"train": train or self.section("train"), "val": val or self.section("val")},
               "path": {"resume_state": None}, "train": {"total_iter": 10},
               "val": {"val_enabled": True, "save_img": False},
               "logger": {"print_freq": 1, "save_checkpoint_freq": 5, "use_tb_logger": False}}
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(opt, f, sort_keys=False)
        return path


def batches(section: dict, count: int, device: str = "cpu", seed: int = 0, **kw) -> list[dict]:
    """The first ``count`` batches of a dalisr loader on ``section`` (at the tree's scale), epochs rolling over."""
    from dalisr import build_dataloader

    out: list[dict] = []
    with build_dataloader(dict(section, scale=SCALE), device=device, seed=seed, **kw) as loader:
        while len(out) < count:
            for b in loader:
                out.append(b)
                if len(out) == count:
                    break
    return out


def _photos() -> list[np.ndarray]:
    import skimage.data

    return [np.ascontiguousarray(p) for p in (skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea(),
                                              skimage.data.rocket(), skimage.data.immunohistochemistry())]


def _down(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (w // SCALE, h // SCALE), interpolation=cv2.INTER_AREA)


def _write(path: str, img: np.ndarray, params=()) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, img, list(params)), path


def _srgb_png(path: str, rgb: np.ndarray) -> None:
    from PIL import Image, ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(rgb).save(path, "PNG", icc_profile=profile)


def make_trainner_tree(root: str) -> TrainnerTree:
    """The tree described in the module's docstring, under ``root`` (BGR as OpenCV writes it)."""
    p = _photos()
    hr, lr, hr2, lr2 = (os.path.join(root, d) for d in ("hr", "lr", "hr2", "lr2"))
    a = p[0][40:200, 80:272, ::-1]  # 160 x 192
    _write(f"{hr}/a.png", a)
    _write(f"{lr}/a.webp", _down(a), (cv2.IMWRITE_WEBP_QUALITY, 101))  # lossless
    b16 = (p[1][:128, :192, ::-1].astype(np.uint16) * 257 + np.arange(192, dtype=np.uint16)[None, :, None])
    _write(f"{hr}/b.png", b16)
    _write(f"{lr}/b.png", _down(b16))
    gray = cv2.cvtColor(np.ascontiguousarray(p[2][:128, :160, ::-1]), cv2.COLOR_BGR2GRAY)
    _write(f"{hr}/sub/c.png", gray)
    _write(f"{lr}/sub/c.jpg", _down(gray), (cv2.IMWRITE_JPEG_QUALITY, 92))
    gray16 = gray.astype(np.uint16) * 251 + 7
    _write(f"{hr2}/d.png", gray16)
    _write(f"{lr2}/d.png", _down(gray16))
    rgba = np.dstack([p[3][:96, :128, ::-1], np.full((96, 128), 180, np.uint8)])
    _write(f"{hr2}/e.png", rgba)
    _write(f"{lr2}/e.png", _down(rgba))
    f = p[4][:128, :128, ::-1]
    _write(f"{hr2}/f.png", f)
    _write(f"{lr2}/f.webp", _down(f), (cv2.IMWRITE_WEBP_QUALITY, 80))  # lossy
    g = np.ascontiguousarray(p[0][200:328, 200:392])  # RGB for Pillow
    _srgb_png(f"{hr2}/g.png", g)
    _srgb_png(f"{lr2}/g.png", np.ascontiguousarray(_down(g)))
    return TrainnerTree(root)


def png_with_profile(path: str, rgb: np.ndarray, kind: str = "LAB") -> None:
    """A PNG embedding a colour profile other than sRGB (Pillow's built-in ``kind`` profile)."""
    from PIL import Image, ImageCms

    buf = io.BytesIO()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile(kind)).tobytes()
    Image.fromarray(rgb).save(buf, "PNG", icc_profile=profile)
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())
