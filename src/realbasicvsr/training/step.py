"""One training step: the forward and backward passes of a micro-batch (:func:`training_step`), then the
optimiser steps and the EMA update (:func:`optimise`)."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import RealBasicVSRError
from ..inference.engine import orient, unorient
from ..losses import GANLoss, PerceptualLoss, cleaning_target, pixel_loss
from . import distributed
from .config import TrainConfig
from .ema import EMA


@dataclass
class Models:
    """What one step needs: the generator (maybe DDP-wrapped), its optimiser, and the stage-2 parts."""

    generator: nn.Module
    optimizer: torch.optim.Optimizer
    discriminator: nn.Module | None = None
    d_optimizer: torch.optim.Optimizer | None = None
    perceptual: PerceptualLoss | None = None
    gan_loss: GANLoss | None = None
    teacher: nn.Module | None = None  # loss.distill_teacher, frozen
    scalers: dict[str, Any] = field(default_factory=dict)


def autocast_for(config: TrainConfig, device: torch.device) -> AbstractContextManager:
    """The mixed-precision context of ``train.amp`` on ``device`` (a no-op for ``none``)."""
    amp = config.train.amp
    if amp == "none":
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def training_step(models: Models, batch: tuple[torch.Tensor, ...], config: TrainConfig, *, scale_by: float = 1.0,
                  autocast=nullcontext) -> dict[str, float]:
    """Forward and backward of one micro-batch, in the order of MMagic's ``RealBasicVSR``
    (``mmagic/models/editors/real_basicvsr/real_basicvsr.py``, stepped by SRGAN's ``train_step``); returns
    its losses.

    1. ``out, clean = G(lq, return_lqs=True)``; 2. generator losses with D frozen: L1 vs the sharpened GT,
    L1 of the cleaned LQ vs the downsampled (``loss.cleaning_target``) sharpened GT, (stage 2) perceptual vs the sharpened GT and
    the GAN loss, (distillation) L1 vs the teacher's mean over ``loss.distill_ensemble`` orientations;
    backward; 3. (stage 2) discriminator losses on the plain GT (real) and ``out.detach()``
    (fake); backward. The optimiser steps (G first, then D) and the EMA update follow in :func:`optimise`.
    ``scale_by`` divides the losses for gradient accumulation. ``train.cleaning_only``: the cleaning module and
    its loss only.
    """
    lq, gt, gt_sharp = batch
    loss_cfg, scale = config.loss, config.model.upscale
    g, d = models.generator, models.discriminator
    losses: dict[str, torch.Tensor] = {}
    target = cleaning_target(gt_sharp, scale, loss_cfg.cleaning_target)
    if config.train.cleaning_only:  # the cleaning module alone: no flow, no propagation, no head
        with autocast():
            clean, _ = unwrap(g).clean(lq)
            losses["cleaning"] = loss_cfg.cleaning_weight * pixel_loss(clean.float(), target)
        _backward(losses["cleaning"] * scale_by, models.scalers.get("generator"))
        logs = {"cleaning": float(losses["cleaning"].detach())}
        if not math.isfinite(logs["cleaning"]):
            raise RealBasicVSRError(f"training diverged: non-finite loss {logs} (lower train.lr)")
        return logs
    with autocast():
        out, clean = g(lq, return_lqs=True)
        out32, clean32 = out.float(), clean.float()
        losses["pixel"] = loss_cfg.pixel_weight * pixel_loss(out32, gt_sharp, loss_cfg.pixel_criterion)
        losses["cleaning"] = loss_cfg.cleaning_weight * pixel_loss(clean32, target)
        if models.teacher is not None:
            losses["distill"] = loss_cfg.distill_weight * pixel_loss(
                out32, teacher_output(models.teacher, lq, loss_cfg.distill_ensemble))
        frames = out.flatten(0, 1)
        if models.perceptual is not None:
            losses["perceptual"] = models.perceptual(frames.float(), gt_sharp.flatten(0, 1))
        if d is not None:
            d.requires_grad_(False)
            losses["gan"] = models.gan_loss(d(frames).float(), True, is_disc=False)
    total = sum(losses.values())
    _backward(total * scale_by, models.scalers.get("generator"))
    logs = {k: float(v.detach()) for k, v in losses.items()}
    if d is not None:
        d.requires_grad_(True)
        with autocast():
            real = models.gan_loss(d(gt.flatten(0, 1)).float(), True, is_disc=True)
        _backward(real * scale_by, models.scalers.get("discriminator"))
        with autocast():
            fake = models.gan_loss(d(out.detach().flatten(0, 1)).float(), False, is_disc=True)
        _backward(fake * scale_by, models.scalers.get("discriminator"))
        logs["d_real"], logs["d_fake"] = float(real.detach()), float(fake.detach())
    if not all(math.isfinite(v) for v in logs.values()):
        raise RealBasicVSRError(f"training diverged: non-finite loss {logs} (lower train.lr, or use train.amp = 'none')")
    return logs


@torch.no_grad()
def teacher_output(teacher: nn.Module, lq: torch.Tensor, ensemble: int) -> torch.Tensor:
    """The teacher's output for ``lq`` (N, T, 3, H, W), averaged over orientations 0..ensemble-1 (fp32)."""
    return sum(unorient(teacher(orient(lq, g)).float(), g) for g in range(ensemble)) / ensemble


def _backward(loss: torch.Tensor, scaler: torch.amp.GradScaler | None) -> None:
    (scaler.scale(loss) if scaler is not None else loss).backward()


def optimise(models: Models, ema: EMA, procs: distributed.Processes) -> None:
    """G step, then D step (gradients averaged across ranks), then the EMA update."""
    # a DDP-wrapped generator averages its own gradients; cleaning-only training runs it unwrapped
    own = None if isinstance(models.generator, DistributedDataParallel) else models.generator
    for name, opt, module in (("generator", models.optimizer, own),
                              ("discriminator", models.d_optimizer, models.discriminator)):
        if opt is None:
            continue
        if module is not None:
            distributed.average_gradients(module, procs)
        scaler = models.scalers.get(name)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)
    ema.update(unwrap(models.generator))


def unwrap(module: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the module itself)."""
    return module.module if isinstance(module, DistributedDataParallel) else module
