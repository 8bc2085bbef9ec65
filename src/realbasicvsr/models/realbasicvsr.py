"""RealBasicVSR (Chan et al., CVPR 2022): an image-cleaning module in front of BasicVSR."""

from __future__ import annotations

import torch
from torch import nn

from .basicvsr import BasicVSRNet, ForwardState
from .blocks import ResidualBlocksWithInputConv, eager_inference


class RealBasicVSRNet(nn.Module):
    """Real-world VSR: (N, T, 3, H, W) RGB in [0, 1] -> (N, T, 3, s*H, s*W), not clamped (s = ``upscale``).

    ``upscale`` (4, the reference; 2 or 1) and ``head_channels`` (64 in the reference) shape the
    reconstruction head of the inner BasicVSRNet (see there); the cleaning module works at the input size.
    ``output_sharpen`` > 0 adds a fixed unsharp mask to every output frame (``BasicVSRNet.sharpen``);
    ``supersample`` > 1 builds the head for ``upscale * supersample`` and averages its output down to x``upscale``.

    ``dynamic_refine_thres`` is in 0-255 units: cleaning repeats (at most 3 passes) until the mean
    absolute residue of a pass falls below ``thres / 255``; 255 means exactly one pass.
    """

    MAX_CLEANING_PASSES = 3

    def __init__(
        self,
        mid_channels: int = 64,
        num_propagation_blocks: int = 20,
        num_cleaning_blocks: int = 20,
        dynamic_refine_thres: float = 255.0,
        is_fix_cleaning: bool = False,
        is_sequential_cleaning: bool = False,
        upscale: int = 4,
        head_channels: int = 64,
        output_sharpen: float = 0.0,
        supersample: int = 1,
    ) -> None:
        super().__init__()
        self.mid_channels = mid_channels
        self.upscale = upscale
        self.dynamic_refine_thres = dynamic_refine_thres / 255.0
        self.is_sequential_cleaning = is_sequential_cleaning
        self.image_cleaning = nn.Sequential(
            ResidualBlocksWithInputConv(3, mid_channels, num_cleaning_blocks),
            nn.Conv2d(mid_channels, 3, 3, 1, 1, bias=True),
        )
        self.basicvsr = BasicVSRNet(mid_channels, num_propagation_blocks, upscale, head_channels, output_sharpen,
                                    supersample)
        if is_fix_cleaning:
            self.image_cleaning.requires_grad_(False)
        # In eager inference on the CPU the cleaning runs on groups of frames of at most this many pixels
        # (None: all at once). Convs on one 180x320 frame at a time ran ~1.3x faster than on five at once (the
        # maps stay in cache; docs/performance.md); the numbers are the same. GPUs keep the whole batch.
        self.clean_batch_pixels: int | None = 65536

    def clean(self, lqs: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Apply the cleaning loop; returns (cleaned lqs, number of passes). Never modifies ``lqs``."""
        cleaned, npass, _ = self._clean(lqs)
        return cleaned, npass

    def _clean(self, lqs: torch.Tensor, known: tuple[torch.Tensor, torch.Tensor] | None = None):
        """The cleaning loop; also returns the first pass's per-frame sums of absolute residues, (N, T) fp32.

        ``known`` = (first-pass result, its per-frame sums) of the window's first K frames, computed by the
        previous window: the first pass then cleans only the other frames. The stop test adds the per-frame
        sums in the same order either way, so it decides exactly as if every frame had been cleaned here."""
        n, t, c, h, w = lqs.shape
        first_sums = None
        for npass in range(1, self.MAX_CLEANING_PASSES + 1):
            k = known[0].shape[1] if known is not None and npass == 1 else 0
            part = lqs[:, k:]
            residues = self._residues(part) if part.shape[1] else part.clone()
            sums = residues.detach().abs().float().sum(dim=(2, 3, 4))  # the stop test needs no gradient
            cleaned = part + residues
            if k:
                cleaned = torch.cat([known[0].to(cleaned.dtype), cleaned], 1)
                sums = torch.cat([known[1].to(sums.device), sums], 1)
            lqs = cleaned
            if npass == 1:
                first_sums = sums
            if sums.sum() / (n * t * c * h * w) < self.dynamic_refine_thres:
                break
        return lqs, npass, first_sums

    def _residues(self, lqs: torch.Tensor) -> torch.Tensor:
        """One pass of the cleaning module over every frame of ``lqs`` (N, T, 3, H, W)."""
        n, t, c, h, w = lqs.shape
        if self.is_sequential_cleaning:
            return torch.stack([self.image_cleaning(lqs[:, i]) for i in range(t)], dim=1)
        flat = lqs.reshape(-1, c, h, w)
        group = len(flat)
        if eager_inference() and lqs.device.type == "cpu" and self.clean_batch_pixels is not None:
            group = max(1, self.clean_batch_pixels // (h * w))
        residues = torch.cat([self.image_cleaning(flat[i:i + group]) for i in range(0, len(flat), group)])
        return residues.view(n, t, c, h, w)

    def forward(self, lqs: torch.Tensor, return_lqs: bool = False):
        self._check(lqs)
        lqs, _ = self.clean(lqs)
        outputs = self.basicvsr(lqs)
        return (outputs, lqs) if return_lqs else outputs

    def forward_window(
        self, lqs: torch.Tensor, start: int = 0, stop: int | None = None, state: ForwardState | None = None
    ) -> tuple[torch.Tensor, ForwardState]:
        """Clean the window, then ``BasicVSRNet.forward_window`` (outputs of ``[start, stop)`` and the state)."""
        self._check(lqs)
        k = state.reusable(lqs, state.ahead_raw) if state is not None and start == 0 else 0
        known = None
        if k and state.ahead is not None and state.ahead_residue is not None:  # cleaned by the previous window
            known = (state.ahead, state.ahead_residue)
        cleaned, npass, first_sums = self._clean(lqs, known)
        out, new_state = self.basicvsr.forward_window(cleaned, start, stop, state)
        if new_state.ahead is not None and npass == 1:  # one pass: the right context's cleaning is its own
            kk = new_state.ahead.shape[1]
            new_state.ahead_raw = lqs[:, lqs.shape[1] - kk:].clone()
            new_state.ahead_residue = first_sums[:, first_sums.shape[1] - kk:].clone()
        else:  # more passes depend on the whole window: the next one redoes its cleaning (and so its flows)
            new_state.ahead = new_state.ahead_flows = None
        return out, new_state

    @staticmethod
    def _check(lqs: torch.Tensor) -> None:
        if lqs.dim() != 5 or lqs.shape[2] != 3:
            raise ValueError(f"RealBasicVSRNet expects (N, T, 3, H, W), got {tuple(lqs.shape)}")
