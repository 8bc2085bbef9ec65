"""Backward warping of images/features by an optical flow field."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


@functools.lru_cache(maxsize=16)
def _base_grid(h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The pixel grid (1, H, W, 2), x first, built once per size; made outside inference mode, so the cached
    tensor serves training too."""
    with torch.inference_mode(False):
        gy, gx = torch.meshgrid(
            torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype), indexing="ij"
        )
        return torch.stack((gx, gy), dim=2).unsqueeze(0)


def flow_warp(
    x: torch.Tensor,
    flow: torch.Tensor,
    interpolation: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool = True,
) -> torch.Tensor:
    """Sample ``x`` (N, C, H, W) at ``pixel + flow``; ``flow`` is (N, H, W, 2) in pixels, x first.

    Coordinates are normalised with ``2 * g / max(size - 1, 1) - 1`` as in the reference, so a size-1
    axis does not divide by zero. They are computed in at least fp32: a bf16 grid cannot hold the pixel
    positions past 256 (bf16 features under autocast would otherwise be sampled up to pixels off).
    """
    if x.shape[-2:] != flow.shape[1:3]:
        raise ValueError(f"flow_warp: spatial sizes differ: x {tuple(x.shape[-2:])}, flow {tuple(flow.shape[1:3])}")
    h, w = x.shape[-2:]
    coords = torch.promote_types(torch.promote_types(x.dtype, flow.dtype), torch.float32)
    grid = _base_grid(h, w, x.device, coords) + flow
    gx = 2.0 * grid[..., 0] / max(w - 1, 1) - 1.0
    gy = 2.0 * grid[..., 1] / max(h - 1, 1) - 1.0
    grid = torch.stack((gx, gy), dim=3).to(torch.promote_types(x.dtype, flow.dtype))
    return F.grid_sample(x, grid, mode=interpolation, padding_mode=padding_mode, align_corners=align_corners)
