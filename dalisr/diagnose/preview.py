"""A contact sheet of training patches: GT beside its LQ (upscaled), so alignment can be seen."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def _to_bgr8(t, mean=None, std=None) -> np.ndarray:
    x = t.detach().float().cpu().numpy()
    if mean is not None and std is not None:
        x = x * np.resize(np.asarray(std, np.float32), x.shape[0])[:, None, None] \
            + np.resize(np.asarray(mean, np.float32), x.shape[0])[:, None, None]
    x = np.clip(np.rint(x.transpose(1, 2, 0) * 255.0), 0, 255).astype(np.uint8)
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    return np.ascontiguousarray(x[:, :, ::-1])


def _centre(t):
    """A sample's image: the middle frame of a T x C x H x W sequence."""
    return t[t.shape[0] // 2] if t.dim() == 4 else t


def contact_sheet(batch: Mapping, max_rows: int = 8, gap: int = 4, mean=None, std=None) -> np.ndarray:
    """Rows of [GT patch | LQ patch upscaled by nearest neighbour to the GT size] (BGR uint8).

    Video batches show the middle frame of each sequence (GT and LQ alike).
    Nearest-neighbour upscaling keeps each LQ pixel a visible block, so a
    misaligned crop shows as a shift. LQ-only batches show the LQ images.
    """
    import cv2

    gts, lqs = batch.get("gt"), batch.get("lq")
    if gts is None:  # LQ-only datasets: the LQ images alone
        gts, lqs = lqs, None
    rows = []
    for i in range(min(max_rows, gts.shape[0])):
        gt = _to_bgr8(_centre(gts[i]), mean, std)
        tiles = [gt]
        if lqs is not None:
            lq = _to_bgr8(_centre(lqs[i]), mean, std)
            tiles.append(cv2.resize(lq, (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_NEAREST))
        spacer = np.full((gt.shape[0], gap, 3), 255, np.uint8)
        row = tiles[0] if len(tiles) == 1 else np.concatenate([tiles[0], spacer, tiles[1]], axis=1)
        rows.append(row)
        rows.append(np.full((gap, row.shape[1], 3), 255, np.uint8))
    return np.concatenate(rows[:-1], axis=0)
