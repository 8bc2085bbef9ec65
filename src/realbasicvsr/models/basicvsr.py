"""BasicVSR (Chan et al., CVPR 2021): bidirectional recurrent propagation with SPyNet alignment.

The reference head is x4; x2 and x1 heads (fewer pixel-shuffle stages) are additions of this package.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import PixelShufflePack, ResidualBlocksWithInputConv
from .flow import flow_warp
from .spynet import SPyNet


class BasicVSRNet(nn.Module):
    """Video super-resolution: (N, T, 3, H, W) in [0, 1] -> (N, T, 3, s*H, s*W), not clamped (s = ``upscale``).

    The head after the fusion conv depends on ``upscale``:

    - 4 (the reference, MMagic's keys): ``upsample1`` = PixelShufflePack(C, C, 2, 3), ``upsample2`` =
      PixelShufflePack(C, head, 2, 3), ``conv_hr`` (head -> head), ``conv_last`` (head -> 3).
    - 2: ``upsample1`` = PixelShufflePack(C, head, 2, 3) and no ``upsample2``; ``conv_hr``, ``conv_last``.
    - 1: no pixel shuffle: ``conv_hr`` (C -> head, 3x3) and ``conv_last`` at the input size.

    The result is added to the bilinear x``upscale`` (align_corners=False) of the input frame (x1: the frame
    itself). ``head_channels`` is the head's width (64 in the reference and its released weights).
    """

    UPSCALES = (4, 2, 1)

    def __init__(self, mid_channels: int = 64, num_blocks: int = 30, upscale: int = 4, head_channels: int = 64) -> None:
        super().__init__()
        if isinstance(upscale, bool) or not isinstance(upscale, int) or upscale not in self.UPSCALES:
            raise ValueError(f"upscale must be 4, 2 or 1, got {upscale!r}")
        if head_channels < 1:
            raise ValueError(f"head_channels must be >= 1, got {head_channels!r}")
        self.mid_channels = mid_channels
        self.upscale = upscale
        self.spynet = SPyNet()
        self.spynet.requires_grad_(False)  # frozen in the reference: gradients still flow through it
        # False: flows are computed without autograd (no gradient from the flow into the cleaning module),
        # which skips SPyNet's backward pass -- a training-time saving for small models (configs/lite_*.toml).
        self.flow_gradient = True
        # < 1: SPyNet runs on frames downscaled by this factor and its flow is upsampled back (SPyNet is most
        # of a small model's cost); 1 is the reference. See MODEL_CARD.md for what 0.5 costs in quality.
        self.flow_scale = 1.0
        self.backward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels, num_blocks)
        self.forward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels, num_blocks)
        self.fusion = nn.Conv2d(mid_channels * 2, mid_channels, 1, 1, 0, bias=True)
        self.upsample1: PixelShufflePack | None = None
        self.upsample2: PixelShufflePack | None = None
        if upscale == 4:
            self.upsample1 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
            self.upsample2 = PixelShufflePack(mid_channels, head_channels, 2, upsample_kernel=3)
        elif upscale == 2:
            self.upsample1 = PixelShufflePack(mid_channels, head_channels, 2, upsample_kernel=3)
        self.conv_hr = nn.Conv2d(mid_channels if upscale == 1 else head_channels, head_channels, 3, 1, 1)
        self.conv_last = nn.Conv2d(head_channels, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def compute_flow(self, lrs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(forward, backward) flows, each (N, T-1, 2, H, W).

        backward[i] = spynet(lr_i, lr_{i+1}); forward[i] = spynet(lr_{i+1}, lr_i).
        """
        n, t, c, h, w = lrs.shape
        if t < 2:
            empty = lrs.new_zeros(n, 0, 2, h, w)
            return empty, empty
        with torch.set_grad_enabled(self.flow_gradient and torch.is_grad_enabled()):
            small = lrs
            if self.flow_scale != 1:
                small = F.interpolate(lrs.flatten(0, 1), scale_factor=self.flow_scale, mode="area",
                                      recompute_scale_factor=False)
                small = small.view(n, t, c, *small.shape[-2:])
            hs, ws = small.shape[-2:]
            lrs_1 = small[:, :-1].reshape(-1, c, hs, ws)
            lrs_2 = small[:, 1:].reshape(-1, c, hs, ws)
            flows_backward = self._full_size(self.spynet(lrs_1, lrs_2), h, w).view(n, t - 1, 2, h, w)
            flows_forward = self._full_size(self.spynet(lrs_2, lrs_1), h, w).view(n, t - 1, 2, h, w)
        return flows_forward, flows_backward

    @staticmethod
    def _full_size(flow: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """A flow computed on downscaled frames, resized to (h, w) with its vectors scaled to match."""
        hs, ws = flow.shape[-2:]
        if (hs, ws) == (h, w):
            return flow
        flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
        return flow * flow.new_tensor([w / ws, h / hs]).view(1, 2, 1, 1)

    def upsample(self, lr: torch.Tensor, feat_backward: torch.Tensor, feat_forward: torch.Tensor) -> torch.Tensor:
        """The head for one frame: fused features -> residual over the bilinear x``upscale`` of ``lr``."""
        out = self.lrelu(self.fusion(torch.cat([feat_backward, feat_forward], dim=1)))
        for shuffle in (self.upsample1, self.upsample2):
            if shuffle is not None:
                out = self.lrelu(shuffle(out))
        out = self.lrelu(self.conv_hr(out))
        out = self.conv_last(out)
        if self.upscale == 1:
            return out + lr
        return out + F.interpolate(lr, scale_factor=self.upscale, mode="bilinear", align_corners=False)

    def forward(self, lrs: torch.Tensor) -> torch.Tensor:
        n, t, _, h, w = lrs.shape
        flows_forward, flows_backward = self.compute_flow(lrs)

        backward_feats: list[torch.Tensor] = [lrs.new_empty(0)] * t
        feat = lrs.new_zeros(n, self.mid_channels, h, w)
        for i in range(t - 1, -1, -1):
            if i < t - 1:
                feat = flow_warp(feat, flows_backward[:, i].permute(0, 2, 3, 1))
            feat = self.backward_resblocks(torch.cat([lrs[:, i], feat], dim=1))
            backward_feats[i] = feat

        outputs = []
        feat = torch.zeros_like(feat)
        for i in range(t):
            if i > 0:
                feat = flow_warp(feat, flows_forward[:, i - 1].permute(0, 2, 3, 1))
            feat = self.forward_resblocks(torch.cat([lrs[:, i], feat], dim=1))
            outputs.append(self.upsample(lrs[:, i], backward_feats[i], feat))
            backward_feats[i] = lrs.new_empty(0)  # free memory as we go
        return torch.stack(outputs, dim=1)
