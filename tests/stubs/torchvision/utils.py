"""Test-only stand-in: make_grid for a single image or a batch (what basicsr's tensor2img uses)."""

from __future__ import annotations

import math

import torch


def make_grid(tensor: torch.Tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range=None, scale_each: bool = False, pad_value: float = 0.0) -> torch.Tensor:
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    n = tensor.size(0)
    cols = min(nrow, n)
    rows = int(math.ceil(n / cols))
    h, w = tensor.size(2) + padding, tensor.size(3) + padding
    grid = tensor.new_full((tensor.size(1), h * rows + padding, w * cols + padding), pad_value)
    for k in range(n):
        y, x = divmod(k, cols)
        grid[:, y * h + padding:(y + 1) * h, x * w + padding:(x + 1) * w] = tensor[k]
    return grid
