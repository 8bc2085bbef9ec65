"""Plain interpolation as a "model": the baseline every restoration is compared with.

``Interpolation`` takes and returns the same (N, T, 3, H, W) tensors as RealBasicVSRNet, so the whole
pipeline (decode, chunks, tiles, encode, colour) runs with it and without any weights or network: what
comparisons (``bicubic`` in the zoo) and the colour tests use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("bicubic", "lanczos")


def _lanczos_taps(size: int, scale: int, a: int = 3, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """For each of ``size * scale`` output positions: the 2a input indices it reads (clamped at the
    borders) and their normalised Lanczos-``a`` weights; pixel centres aligned as in align_corners=False."""
    out = torch.arange(size * scale, dtype=torch.float64, device=device)
    centre = (out + 0.5) / scale - 0.5
    first = torch.floor(centre) - (a - 1)
    idx = first[:, None] + torch.arange(2 * a, dtype=torch.float64, device=device)[None]
    d = centre[:, None] - idx
    w = torch.where(d.abs() < a, torch.sinc(d) * torch.sinc(d / a), torch.zeros_like(d))
    w = w / w.sum(dim=1, keepdim=True)
    return idx.clamp_(0, size - 1).long(), w


class Interpolation(nn.Module):
    """x``upscale`` bicubic (PyTorch's, a = -0.75) or Lanczos-3 resampling of every frame; no parameters."""

    def __init__(self, upscale: int = 4, mode: str = "bicubic") -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if upscale < 1:
            raise ValueError(f"upscale must be >= 1, got {upscale}")
        self.upscale, self.mode = int(upscale), mode

    def _lanczos_1d(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        idx, w = _lanczos_taps(x.shape[dim], self.upscale, device=x.device)
        x = x.movedim(dim, -1)
        taps = x[..., idx.reshape(-1)].unflatten(-1, idx.shape)  # (..., out, 2a)
        y = (taps * w.to(x.dtype)).sum(-1)
        return y.movedim(-1, dim)

    def forward(self, lqs: torch.Tensor) -> torch.Tensor:
        if lqs.dim() != 5 or lqs.shape[2] != 3:
            raise ValueError(f"expected (N, T, 3, H, W), got {tuple(lqs.shape)}")
        n, t = lqs.shape[:2]
        x = lqs.flatten(0, 1)
        if self.upscale == 1:
            y = x.clone()
        elif self.mode == "bicubic":
            y = F.interpolate(x, scale_factor=self.upscale, mode="bicubic", align_corners=False)
        else:
            y = self._lanczos_1d(self._lanczos_1d(x, -1), -2)
        return y.unflatten(0, (n, t))

    def forward_window(self, lqs: torch.Tensor, start: int = 0, stop: int | None = None, state: None = None) -> tuple[torch.Tensor, None]:
        """Frames ``[start, stop)`` (the streaming engine's interface; no state to carry)."""
        return self(lqs[:, start:stop]), None

    def extra_repr(self) -> str:
        return f"upscale={self.upscale}, mode={self.mode!r}"

