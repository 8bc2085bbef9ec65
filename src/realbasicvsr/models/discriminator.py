"""The U-Net discriminator with spectral norm (Real-ESRGAN) used by RealBasicVSR's GAN stage."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm


class UNetDiscriminatorWithSpectralNorm(nn.Module):
    """Per-pixel real/fake logits (N, 1, H, W) for images (N, C, H, W); H and W divisible by 8.

    Uses the legacy hook-based ``spectral_norm`` so the keys (``weight_orig``, ``weight_u``,
    ``weight_v``) and the one-power-iteration-per-train-forward behaviour match the reference.
    """

    def __init__(self, in_channels: int = 3, mid_channels: int = 64, skip_connection: bool = True) -> None:
        super().__init__()
        c = mid_channels
        self.skip_connection = skip_connection
        self.conv_0 = nn.Conv2d(in_channels, c, 3, 1, 1)
        self.conv_1 = spectral_norm(nn.Conv2d(c, c * 2, 4, 2, 1, bias=False))
        self.conv_2 = spectral_norm(nn.Conv2d(c * 2, c * 4, 4, 2, 1, bias=False))
        self.conv_3 = spectral_norm(nn.Conv2d(c * 4, c * 8, 4, 2, 1, bias=False))
        self.conv_4 = spectral_norm(nn.Conv2d(c * 8, c * 4, 3, 1, 1, bias=False))
        self.conv_5 = spectral_norm(nn.Conv2d(c * 4, c * 2, 3, 1, 1, bias=False))
        self.conv_6 = spectral_norm(nn.Conv2d(c * 2, c, 3, 1, 1, bias=False))
        self.conv_7 = spectral_norm(nn.Conv2d(c, c, 3, 1, 1, bias=False))
        self.conv_8 = spectral_norm(nn.Conv2d(c, c, 3, 1, 1, bias=False))
        self.conv_9 = nn.Conv2d(c, 1, 3, 1, 1)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        feat_0 = self.lrelu(self.conv_0(img))
        feat_1 = self.lrelu(self.conv_1(feat_0))
        feat_2 = self.lrelu(self.conv_2(feat_1))
        feat_3 = self.lrelu(self.conv_3(feat_2))

        feat_4 = self.lrelu(self.conv_4(self.upsample(feat_3)))
        if self.skip_connection:
            feat_4 = feat_4 + feat_2
        feat_5 = self.lrelu(self.conv_5(self.upsample(feat_4)))
        if self.skip_connection:
            feat_5 = feat_5 + feat_1
        feat_6 = self.lrelu(self.conv_6(self.upsample(feat_5)))
        if self.skip_connection:
            feat_6 = feat_6 + feat_0

        out = self.lrelu(self.conv_7(feat_6))
        out = self.lrelu(self.conv_8(out))
        return self.conv_9(out)
