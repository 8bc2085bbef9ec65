"""SPyNet optical flow (Ranjan & Black, 2017) as used, frozen, inside BasicVSR."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import conv_fused
from .flow import flow_warp


class _ConvBlock(nn.Module):
    """A conv with an optional ReLU; the child is named ``conv`` to match MMagic's ``ConvModule`` keys."""

    def __init__(self, in_channels: int, out_channels: int, relu: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 7, 1, 3)
        self.activate = nn.ReLU(inplace=False) if relu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv_fused(self.conv, x, self.activate)


class SPyNetBasicModule(nn.Module):
    """One pyramid level: [ref, warped supp, flow] (8 ch) -> flow residual (2 ch)."""

    def __init__(self) -> None:
        super().__init__()
        chans = [8, 32, 64, 32, 16, 2]
        self.basic_module = nn.Sequential(
            *[_ConvBlock(chans[i], chans[i + 1], relu=i < 4) for i in range(5)]
        )

    def forward(self, tensor_input: torch.Tensor) -> torch.Tensor:
        return self.basic_module(tensor_input)


class SPyNet(nn.Module):
    """Coarse-to-fine flow over a 6-level pyramid; input RGB in [0, 1], any H x W.

    ``forward(ref, supp)`` returns the flow (N, 2, H, W) in pixels that warps ``supp`` onto ``ref``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.basic_module = nn.ModuleList([SPyNetBasicModule() for _ in range(6)])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def compute_flow(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        """Flow at a size divisible by 32 (the caller resizes)."""
        n, _, h, w = ref.shape
        ref_pyr = [(ref - self.mean) / self.std]
        supp_pyr = [(supp - self.mean) / self.std]
        for _ in range(5):
            ref_pyr.append(F.avg_pool2d(ref_pyr[-1], kernel_size=2, stride=2, count_include_pad=False))
            supp_pyr.append(F.avg_pool2d(supp_pyr[-1], kernel_size=2, stride=2, count_include_pad=False))
        ref_pyr.reverse()
        supp_pyr.reverse()
        flow = ref.new_zeros(n, 2, h // 32, w // 32)
        for level in range(len(ref_pyr)):
            if level == 0:
                flow_up = flow
            else:
                flow_up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            warped = flow_warp(supp_pyr[level], flow_up.permute(0, 2, 3, 1), padding_mode="border")
            flow = flow_up + self.basic_module[level](torch.cat([ref_pyr[level], warped, flow_up], dim=1))
        return flow

    def forward(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        h, w = ref.shape[-2:]
        h_up, w_up = (h + 31) // 32 * 32, (w + 31) // 32 * 32
        ref = F.interpolate(ref, size=(h_up, w_up), mode="bilinear", align_corners=False)
        supp = F.interpolate(supp, size=(h_up, w_up), mode="bilinear", align_corners=False)
        flow = F.interpolate(self.compute_flow(ref, supp), size=(h, w), mode="bilinear", align_corners=False)
        scale = torch.tensor([w / w_up, h / h_up], dtype=flow.dtype, device=flow.device).view(1, 2, 1, 1)
        return flow * scale
