"""Building blocks shared by the generators (names match MMagic's so checkpoints load unchanged)."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

# oneDNN's fused convolution (what torch.compile emits on the CPU), present in torch's CPU builds with mkldnn.
# A module switch so tests can compare it with the plain ops.
FUSE_ON_CPU = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


def eager_inference() -> bool:
    """True when no autograd graph, tracer (ONNX export) or compiler watches: then the models may take their
    inference-only fast paths (fused convs, the head in strips, grouped cleaning, one propagation buffer)."""
    return not (torch.is_grad_enabled() or torch.jit.is_tracing() or torch.compiler.is_compiling())


def _fused_call(conv, x, w, b, pad, act, residual) -> torch.Tensor:
    args = (list(pad), list(conv.stride), list(conv.dilation), conv.groups)
    if residual is not None:
        return torch.ops.mkldnn._convolution_pointwise.binary(x, residual, w, b, *args, "add", None, None, [], None)
    if act is None:
        attr, scalars = "none", []
    elif isinstance(act, nn.LeakyReLU):
        attr, scalars = "leaky_relu", [act.negative_slope]
    else:
        attr, scalars = "relu", []
    return torch.ops.mkldnn._convolution_pointwise(x, w, b, *args, attr, scalars, "")


# Dtypes whose fused call oneDNN refused on this CPU (bf16 on one without AVX-512): the plain ops from then on.
_REFUSED: set[torch.dtype] = set()


def _disable_fusion(error: RuntimeError, dtype: torch.dtype) -> None:
    _REFUSED.add(dtype)
    name = str(dtype).removeprefix("torch.")
    warnings.warn(f"fused CPU convolutions in {name} are not available here ({str(error).splitlines()[0]}); "
                  f"using the plain ops for {name}", RuntimeWarning, stacklevel=3)


def conv_fused(
    conv: nn.Conv2d,
    x: torch.Tensor,
    act: nn.Module | None = None,
    residual: torch.Tensor | None = None,
    padding: tuple[int, int] | None = None,
) -> torch.Tensor:
    """``act(conv(x))`` or ``residual + conv(x)`` (``padding`` overrides the conv's own).

    On the CPU in eager inference this is one oneDNN call that applies the ReLU / LeakyReLU or the sum while
    the result is still in cache: the same numbers in fp32, and a residual block at 180x320 runs ~1.3x faster
    than as three ops (docs/performance.md). Everywhere else, and for other activations, the plain ops run.
    """
    pad = conv.padding if padding is None else padding
    w, b = conv.weight, conv.bias
    if (FUSE_ON_CPU and x.device.type == "cpu" and eager_inference() and conv.padding_mode == "zeros"
            and not isinstance(pad, str) and (act is None or isinstance(act, (nn.ReLU, nn.LeakyReLU)))):
        if torch.is_autocast_enabled("cpu"):  # autocast does not reach mkldnn ops: cast as it would
            dtype = torch.get_autocast_dtype("cpu")
            x, w = x.to(dtype), w.to(dtype)
            b = None if b is None else b.to(dtype)
            residual = None if residual is None else residual.to(dtype)
        if x.dtype == w.dtype and x.dtype in (torch.float32, torch.bfloat16) and x.dtype not in _REFUSED and (
                residual is None or residual.dtype == x.dtype):
            try:
                return _fused_call(conv, x, w, b, pad, act, residual)
            except RuntimeError as e:  # a build or CPU whose oneDNN lacks this fusion: the plain ops from now on
                if "memory" in str(e).lower():
                    raise
                # The plain ops first: if they fail too (oneDNN says "could not create a primitive" when it
                # cannot allocate one), the fusion was not the problem and stays on.
                y = _plain_conv(conv, x, w, b, pad, act, residual)
                _disable_fusion(e, x.dtype)
                return y
    return _plain_conv(conv, x, w, b, pad, act, residual)


def _plain_conv(conv, x, w, b, pad, act, residual) -> torch.Tensor:
    y = F.conv2d(x, w, b, conv.stride, pad, conv.dilation, conv.groups)
    if residual is not None:
        return residual + y
    return y if act is None else act(y)


class ResidualBlockNoBN(nn.Module):
    """``x + conv2(relu(conv1(x)))``: the EDSR-style residual block without batch norm."""

    def __init__(self, mid_channels: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv_fused(self.conv2, conv_fused(self.conv1, x, self.relu), residual=x)


class ResidualBlocksWithInputConv(nn.Module):
    """A 3x3 input conv + LeakyReLU(0.1) followed by ``num_blocks`` residual blocks."""

    def __init__(self, in_channels: int, out_channels: int = 64, num_blocks: int = 30) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, 1, 1),
            nn.LeakyReLU(negative_slope=0.1, inplace=True),
            nn.Sequential(*[ResidualBlockNoBN(out_channels) for _ in range(num_blocks)]),
        )

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        conv, act, blocks = self.main
        return blocks(conv_fused(conv, feat, act))


class PixelShufflePack(nn.Module):
    """Conv to ``out * s * s`` channels, then pixel shuffle by ``s``."""

    def __init__(self, in_channels: int, out_channels: int, scale_factor: int, upsample_kernel: int) -> None:
        super().__init__()
        self.scale_factor = scale_factor
        self.upsample_conv = nn.Conv2d(
            in_channels, out_channels * scale_factor * scale_factor, upsample_kernel,
            padding=(upsample_kernel - 1) // 2,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.upsample_conv(x), self.scale_factor)
