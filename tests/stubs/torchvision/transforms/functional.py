"""Test-only stand-in: the two functions basicsr imports, with torchvision's semantics."""

from __future__ import annotations

import torch


def normalize(tensor: torch.Tensor, mean, std, inplace: bool = False) -> torch.Tensor:
    """(tensor - mean) / std per channel, channels first."""
    if not inplace:
        tensor = tensor.clone()
    mean_t = torch.as_tensor(mean, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
    std_t = torch.as_tensor(std, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
    return tensor.sub_(mean_t).div_(std_t)


def rgb_to_grayscale(img: torch.Tensor, num_output_channels: int = 1) -> torch.Tensor:
    """ITU-R 601-2 luma of a ... x 3 x H x W tensor."""
    r, g, b = img.unbind(dim=-3)
    gray = (0.299 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(dim=-3)
    return gray.expand(img.shape[:-3] + (num_output_channels,) + img.shape[-2:]) if num_output_channels > 1 else gray
