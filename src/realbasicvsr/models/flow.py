"""Backward warping of images/features by an optical flow field."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def flow_warp(
    x: torch.Tensor,
    flow: torch.Tensor,
    interpolation: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool = True,
) -> torch.Tensor:
    """Sample ``x`` (N, C, H, W) at ``pixel + flow``; ``flow`` is (N, H, W, 2) in pixels, x first.

    Coordinates are normalised with ``2 * g / max(size - 1, 1) - 1`` as in the reference, so a size-1
    axis does not divide by zero.
    """
    if x.shape[-2:] != flow.shape[1:3]:
        raise ValueError(f"flow_warp: spatial sizes differ: x {tuple(x.shape[-2:])}, flow {tuple(flow.shape[1:3])}")
    _, _, h, w = x.shape
    gy, gx = torch.meshgrid(
        torch.arange(h, device=x.device, dtype=x.dtype),
        torch.arange(w, device=x.device, dtype=x.dtype),
        indexing="ij",
    )
    grid = torch.stack((gx, gy), dim=2) + flow  # (N, H, W, 2)
    gx_n = 2.0 * grid[..., 0] / max(w - 1, 1) - 1.0
    gy_n = 2.0 * grid[..., 1] / max(h - 1, 1) - 1.0
    grid = torch.stack((gx_n, gy_n), dim=3)
    return F.grid_sample(x, grid, mode=interpolation, padding_mode=padding_mode, align_corners=align_corners)
