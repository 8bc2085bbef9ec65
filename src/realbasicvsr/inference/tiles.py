"""Spatial tiling: run the model on overlapping tiles and feather the upscaled results together.

Each tile sees the whole temporal window; outputs are blended with linear ramps across the overlap so
seams are invisible (the weights sum to one everywhere).
"""

from __future__ import annotations

from typing import Callable

import torch


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering ``[0, size)`` with tiles of ``tile`` overlapping by at least ``overlap``."""
    if tile >= size:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, size - tile, stride)) + [size - tile]
    return sorted(set(starts))


def _ramp(length: int, lo_overlap: int, hi_overlap: int, device, dtype) -> torch.Tensor:
    """1 in the middle, rising linearly over ``lo_overlap`` and falling over ``hi_overlap`` samples."""
    w = torch.ones(length, device=device, dtype=dtype)
    if lo_overlap > 0:
        w[:lo_overlap] = (torch.arange(lo_overlap, device=device, dtype=dtype) + 0.5) / lo_overlap
    if hi_overlap > 0:
        w[length - hi_overlap:] = torch.minimum(
            w[length - hi_overlap:], (torch.arange(hi_overlap, 0, -1, device=device, dtype=dtype) - 0.5) / hi_overlap
        )
    return w


def run_tiled(
    fn: Callable[[torch.Tensor, int], torch.Tensor],
    lqs: torch.Tensor,
    tile: int,
    overlap: int,
    scale: int = 4,
) -> torch.Tensor:
    """``fn(x, k)`` maps tile ``k``'s (N, T, C, h, w) to (N, T', C, scale*h, scale*w); apply it tile by tile over
    ``lqs`` (``k`` numbers the tiles in raster order, so state kept per tile survives from window to window)."""
    n, _, _, h, w = lqs.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    if len(ys) == 1 and len(xs) == 1:
        return fn(lqs, 0)
    th, tw = min(tile, h), min(tile, w)
    out = None
    weight = None
    for iy, y in enumerate(ys):
        for ix, x in enumerate(xs):
            res = fn(lqs[..., y:y + th, x:x + tw], iy * len(xs) + ix)
            if out is None:
                out = res.new_zeros(n, res.shape[1], res.shape[2], h * scale, w * scale)
                weight = res.new_zeros(1, 1, 1, h * scale, w * scale)
            # overlap with the previous / next tile along each axis, in output pixels
            oy0 = (ys[iy - 1] + th - y) * scale if iy > 0 else 0
            oy1 = (y + th - ys[iy + 1]) * scale if iy + 1 < len(ys) else 0
            ox0 = (xs[ix - 1] + tw - x) * scale if ix > 0 else 0
            ox1 = (x + tw - xs[ix + 1]) * scale if ix + 1 < len(xs) else 0
            wy = _ramp(th * scale, oy0, oy1, res.device, res.dtype)
            wx = _ramp(tw * scale, ox0, ox1, res.device, res.dtype)
            wt = (wy[:, None] * wx[None, :])[None, None, None]
            sl = (..., slice(y * scale, (y + th) * scale), slice(x * scale, (x + tw) * scale))
            out[sl] += res * wt
            weight[sl] += wt
    return out.div_(weight)  # in place: the full-size window is the biggest buffer here
