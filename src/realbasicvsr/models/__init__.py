"""Networks: plain ``nn.Module``s with MMagic-identical parameter names, each built with one call."""

from .basicvsr import BasicVSRNet
from .blocks import PixelShufflePack, ResidualBlockNoBN, ResidualBlocksWithInputConv
from .discriminator import UNetDiscriminatorWithSpectralNorm
from .flow import flow_warp
from .realbasicvsr import RealBasicVSRNet
from .spynet import SPyNet, SPyNetBasicModule

__all__ = [
    "BasicVSRNet",
    "PixelShufflePack",
    "RealBasicVSRNet",
    "ResidualBlockNoBN",
    "ResidualBlocksWithInputConv",
    "SPyNet",
    "SPyNetBasicModule",
    "UNetDiscriminatorWithSpectralNorm",
    "flow_warp",
]
