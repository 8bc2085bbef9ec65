"""Output-bias recalibration: the closed-form refit of a generator's last bias so that its mean error on a
training pipeline's pairs is zero per colour channel.

The generator's output is a bilinear upscale of its input plus ``conv_last``'s residual, so a constant
brightness error lives in ``conv_last.bias`` alone; the mean error minimises the squared error (PSNR) for a
constant shift. Used to remove the brightening learnt from a darkening pipeline without retraining."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

BIAS_KEY = "basicvsr.conv_last.bias"


@torch.no_grad()
def mean_output_error(model: nn.Module, pairs: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Per-channel mean of ``model(lq) - gt`` (0-1 units) over (lq, gt) clips of shape (T, 3, H, W)."""
    total = torch.zeros(3, dtype=torch.float64)
    count = 0
    for lq, gt in pairs:
        out = model(lq[None].float())[0]
        total += (out.double() - gt.double()).sum(dim=(0, 2, 3))
        count += gt.shape[0] * gt.shape[2] * gt.shape[3]
    if count == 0:
        raise ValueError("no pairs to measure the output error on")
    return (total / count).float()


def shift_output(state_dict: dict[str, torch.Tensor], delta: torch.Tensor) -> dict[str, torch.Tensor]:
    """A copy of a generator state dict whose outputs are ``delta`` (per channel, 0-1 units) lower."""
    bias = state_dict[BIAS_KEY]
    shifted = dict(state_dict)
    shifted[BIAS_KEY] = (bias.float() - delta.float()).to(bias.dtype)
    return shifted
