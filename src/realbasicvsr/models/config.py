"""The one architecture description: what a checkpoint's tensors imply, what a zoo entry builds and what the
planner counts FLOPs and memory for."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

from .interpolation import Interpolation
from .realbasicvsr import RealBasicVSRNet


@dataclass(frozen=True)
class ArchConfig:
    """Sizes of a RealBasicVSRNet (the released c64b20 by default), or plain ``interpolation``
    ("bicubic"/"lanczos": no network, no weights, no flow)."""

    mid_channels: int = 64
    num_propagation_blocks: int = 20
    num_cleaning_blocks: int = 20
    upscale: int = 4
    head_channels: int = 64
    interpolation: str = ""
    output_sharpen: float = 0.0  # weight of the fixed output unsharp mask (0: none, as the reference)
    supersample: int = 1  # > 1: the head is built for upscale * supersample and averaged down (1: the reference)

    @property
    def flow(self) -> bool:
        """Whether SPyNet runs (every network does; interpolation doesn't)."""
        return not self.interpolation

    def network_kwargs(self) -> dict[str, int | float]:
        """The RealBasicVSRNet constructor's size arguments."""
        kw = asdict(self)
        del kw["interpolation"]
        if not kw["output_sharpen"]:  # the reference's arguments stay as they were
            del kw["output_sharpen"]
        if kw["supersample"] == 1:
            del kw["supersample"]
        return kw

    def build(self, dynamic_refine_thres: float | None = None) -> nn.Module:
        """The model with random weights (an ``Interpolation`` for the interpolation baselines)."""
        if self.interpolation:
            return Interpolation(self.upscale, self.interpolation)
        thres = 255.0 if dynamic_refine_thres is None else dynamic_refine_thres
        return RealBasicVSRNet(**self.network_kwargs(), dynamic_refine_thres=thres)

    @classmethod
    def interpolating(cls, upscale: int, mode: str) -> "ArchConfig":
        return cls(0, 0, 0, upscale, 0, interpolation=mode)

    @property
    def head_scale(self) -> int:
        """What the head upsamples by before any averaging (``upscale`` unless the model supersamples)."""
        return self.upscale * self.supersample
