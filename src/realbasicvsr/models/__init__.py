"""Networks: plain ``nn.Module``s with MMagic-identical parameter names, each built with one call."""

from .basicvsr import BasicVSRNet, ForwardState
from .config import ArchConfig
from .blocks import PixelShufflePack, ResidualBlockNoBN, ResidualBlocksWithInputConv
from .discriminator import UNetDiscriminatorWithSpectralNorm
from .efficientnet_lite import EfficientNetLite0Features
from .flow import flow_warp
from .interpolation import Interpolation
from .realbasicvsr import RealBasicVSRNet
from .spynet import SPyNet, SPyNetBasicModule
from .vgg import VGG19Features

__all__ = [
    "ArchConfig",
    "BasicVSRNet",
    "EfficientNetLite0Features",
    "ForwardState",
    "Interpolation",
    "PixelShufflePack",
    "RealBasicVSRNet",
    "ResidualBlockNoBN",
    "ResidualBlocksWithInputConv",
    "SPyNet",
    "SPyNetBasicModule",
    "UNetDiscriminatorWithSpectralNorm",
    "VGG19Features",
    "flow_warp",
]
