"""The training loop: build everything from a :class:`TrainConfig`, then one ``while`` over steps.

Single process::

    realbasicvsr train configs/smoke.toml --work-dir runs/smoke

One machine, 8 GPUs (or ``--nproc_per_node=2`` CPU processes with gloo)::

    torchrun --standalone --nproc_per_node=8 -m realbasicvsr train CONFIG --work-dir runs/x

The step follows the reference order (REFERENCE.md 3) in :func:`training_step`.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .. import __version__
from ..atomic import write_text_atomic
from ..checkpoint import (SHARPEN_KEY, generator_state_dict, infer_config, read_checkpoint, resolve_source,
                          sharpen_weight)
from ..errors import RealBasicVSRError
from ..losses import GANLoss, PerceptualLoss, cleaning_target
from ..models import RealBasicVSRNet, UNetDiscriminatorWithSpectralNorm
from ..models.blocks import ResidualBlockNoBN
from ..models.loading import state_dict_mismatch
from ..tomlconfig import to_toml
from . import distributed
from .checkpoints import (
    FORMAT, checkpoint_name, list_checkpoints, load_training_checkpoint, restore_rng_states, rng_states,
    save_checkpoint,
)
from .config import TrainConfig
from .data import build_dataset, make_loader
from .ema import EMA

# Settings a resumed run may change: they do not alter what a step computes.
RESUMABLE_CHANGES = ("train.iterations", "train.checkpoint_every", "train.keep_last", "train.log_every",
                     "train.device", "data.num_workers", "val.")


@dataclass
class Models:
    """What one step needs: the generator (maybe DDP-wrapped), its optimiser, and the stage-2 parts."""

    generator: nn.Module
    optimizer: torch.optim.Optimizer
    discriminator: nn.Module | None = None
    d_optimizer: torch.optim.Optimizer | None = None
    perceptual: PerceptualLoss | None = None
    gan_loss: GANLoss | None = None
    scalers: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    """Where a run ended: the last iteration, its checkpoint (rank 0), the per-step losses of this run."""

    iteration: int
    checkpoint: Path | None
    history: list[dict[str, float]]
    rank: int = 0


def build_generator(config: TrainConfig, log: Callable[[str], None] = lambda s: None, *,
                    pretrained: bool = True) -> RealBasicVSRNet:
    """The generator of ``config.model``, initialised from ``init`` or with pretrained SPyNet weights
    (``pretrained=False``: random weights, e.g. before a resumed checkpoint overwrites them)."""
    m = config.model
    g = RealBasicVSRNet(m.mid_channels, m.num_propagation_blocks, m.num_cleaning_blocks,
                        dynamic_refine_thres=m.dynamic_refine_thres, upscale=m.upscale,
                        head_channels=m.head_channels)
    g.basicvsr.flow_gradient = m.flow_gradient
    if not pretrained:
        return g
    if m.init:
        path = resolve_source(m.init)
        sd = generator_state_dict(read_checkpoint(path), use_ema=True, source=str(path))
        if SHARPEN_KEY in sd:  # a fixed output stage, set at convert time: the network trains without it
            log(f"model.init {m.init}: its output sharpening ({sharpen_weight(sd):g}) is not part of training; "
                "add it back with realbasicvsr convert --sharpen")
            del sd[SHARPEN_KEY]
        own = g.state_dict()
        if m.init_partial:
            fit = {k: v for k, v in sd.items() if k in own and own[k].shape == v.shape}
            wider = _widened(sd, own, m.mid_channels)
            if not fit and not wider:
                raise RealBasicVSRError(f"model.init {m.init}: no tensor matches this model's names and shapes")
            g.load_state_dict({**own, **{k: v.float() for k, v in fit.items()}, **wider})
            grown = _identity_new_blocks(g, {**fit, **wider})
            log(f"initialised {len(fit)} of {len(own)} tensors from {path}"
                + (f", widened {len(wider)}" if wider else "")
                + (f"; {grown} new residual blocks start as identity" if grown else ""))
        else:
            _load_strict(g, sd, str(path))
            log(f"initialised from {path}")
    elif m.spynet != "none":
        from ..pretrained import load_spynet_weights

        log(load_spynet_weights(g, m.spynet))
    return g


def _widened(sd: dict[str, torch.Tensor], own: dict[str, torch.Tensor], mid: int) -> dict[str, torch.Tensor]:
    """Tensors of a narrower init (fewer feature channels) placed into this model's wider ones, so the wider
    model starts out computing the init's function exactly.

    Old channels keep their weights; the weights from new input channels into old outputs are zero, so the
    new channels cannot change the old ones until training moves those weights; new output channels keep
    this model's initialisation scaled by 0.1 (quiet until they have learnt something). Channel axes are
    matched by the network's layout: ``[frame (3), feature (mid)]`` inputs and pixel-shuffle outputs are a
    prefix, the fusion's ``[backward (mid), forward (mid)]`` input is blocks of ``mid``."""
    old_mid = infer_config(sd).mid_channels
    if old_mid >= mid:
        return {}
    out: dict[str, torch.Tensor] = {}
    for key, new in own.items():
        old = sd.get(key)
        if old is None or old.shape == new.shape or old.dim() != new.dim() or old.dim() not in (1, 4):
            continue
        # a pixel-shuffle conv's outputs are (channel, sub-pixel) pairs, channel-major: a prefix
        shuffled = key.endswith(("upsample_conv.weight", "upsample_conv.bias"))
        slots = [list(range(o)) if shuffled and axis == 0 and o < n else _channel_slots(o, n, old_mid, mid)
                 for axis, (o, n) in enumerate(zip(old.shape[:2], new.shape[:2]))]
        if any(s is None for s in slots) or old.shape[2:] != new.shape[2:]:
            continue
        grown = new * 0.1
        rows = slots[0]
        if old.dim() == 4:
            grown[rows] = 0.0
            grown[torch.meshgrid(torch.as_tensor(rows), torch.as_tensor(slots[1]), indexing="ij")] = old.float()
        else:
            grown[rows] = old.float()
        out[key] = grown
    return out


def _channel_slots(old: int, new: int, old_mid: int, mid: int) -> list[int] | None:
    """Where the ``old`` channels of a narrower tensor go among ``new``: the same index (equal sizes, or a
    constant prefix followed by the features), or block by block when the axis is k features side by side."""
    if old == new:
        return list(range(old))
    if old % old_mid == 0 and new == old // old_mid * mid:
        return [b * mid + c for b in range(old // old_mid) for c in range(old_mid)]
    if old - old_mid == new - mid >= 0:
        return list(range(old))
    return None


def _identity_new_blocks(model: nn.Module, loaded: dict[str, torch.Tensor]) -> int:
    """Zero the last conv of every residual block the init had none of, so a deeper model starts out
    computing exactly the shallower init's function (growing 4 -> 8 blocks keeps what was learnt)."""
    grown = 0
    for name, module in model.named_modules():
        if isinstance(module, ResidualBlockNoBN) and not any(k.startswith(name + ".") for k in loaded):
            nn.init.zeros_(module.conv2.weight)
            nn.init.zeros_(module.conv2.bias)
            grown += 1
    return grown


def _load_strict(model: nn.Module, sd: dict[str, torch.Tensor], source: str) -> None:
    problems = state_dict_mismatch(model.state_dict(), sd)
    if problems:
        raise RealBasicVSRError(f"model.init {source} is another architecture than [model] ({problems}); "
                                "set model.init_partial = true to copy only the matching tensors")
    model.load_state_dict({k: v.float() for k, v in sd.items()})


def _init_discriminator(d: nn.Module, source: str, log: Callable[[str], None]) -> None:
    """Start the discriminator from ``discriminator.*`` of the init checkpoint when it has a matching one
    (released GAN-stage files do): fine-tuning then keeps the adversary the generator was trained with."""
    path = resolve_source(source)
    prefix = "discriminator."
    sd = {k[len(prefix):]: v for k, v in read_checkpoint(path).get("state_dict", {}).items()
          if isinstance(k, str) and k.startswith(prefix)}
    own = d.state_dict()
    if sd and sd.keys() == own.keys() and all(sd[k].shape == own[k].shape for k in own):
        d.load_state_dict(sd)
        log(f"discriminator initialised from {path}")
    else:
        log(f"no matching discriminator in {path}: the discriminator starts from random weights")


def _lr_lambda(config: TrainConfig, base_lr: float) -> Callable[[int], float]:
    t = config.train

    def factor(step: int) -> float:
        if t.warmup and step < t.warmup:
            return (step + 1) / t.warmup
        if t.lr_schedule == "cosine":
            progress = min(1.0, (step - t.warmup) / max(1, t.iterations - t.warmup))
            floor = min(1.0, t.min_lr / base_lr)
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        return 1.0

    return factor


def _autocast(config: TrainConfig, device: torch.device):
    amp = config.train.amp
    if amp == "none":
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def training_step(models: Models, batch: tuple[torch.Tensor, ...], config: TrainConfig, *, scale_by: float = 1.0,
                  autocast=nullcontext) -> dict[str, float]:
    """Forward and backward of one micro-batch, in the reference order; returns its losses.

    1. ``out, clean = G(lq, return_lqs=True)``; 2. generator losses with D frozen: L1 vs the sharpened GT,
    L1 of the cleaned LQ vs the downsampled (``loss.cleaning_target``) sharpened GT, (stage 2) perceptual vs the sharpened GT and
    the GAN loss; backward; 3. (stage 2) discriminator losses on the plain GT (real) and ``out.detach()``
    (fake); backward. The optimiser steps (G first, then D) and the EMA update follow in :func:`_optimise`.
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
            clean, _ = _unwrap(g).clean(lq)
            losses["cleaning"] = loss_cfg.cleaning_weight * F.l1_loss(clean.float(), target)
        _backward(losses["cleaning"] * scale_by, models.scalers.get("generator"))
        logs = {"cleaning": float(losses["cleaning"].detach())}
        if not math.isfinite(logs["cleaning"]):
            raise RealBasicVSRError(f"training diverged: non-finite loss {logs} (lower train.lr)")
        return logs
    with autocast():
        out, clean = g(lq, return_lqs=True)
        out32, clean32 = out.float(), clean.float()
        losses["pixel"] = loss_cfg.pixel_weight * F.l1_loss(out32, gt_sharp)
        losses["cleaning"] = loss_cfg.cleaning_weight * F.l1_loss(clean32, target)
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


def _backward(loss: torch.Tensor, scaler) -> None:
    (scaler.scale(loss) if scaler is not None else loss).backward()


def _optimise(models: Models, ema: EMA, procs: distributed.Processes) -> None:
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
    ema.update(_unwrap(models.generator))


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, DistributedDataParallel) else module


def _config_differences(saved: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(saved) | set(now)):
        where = f"{prefix}{key}"
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _config_differences(a, b, where + ".")
        elif a != b and not any(where == r or (r.endswith(".") and where.startswith(r)) for r in RESUMABLE_CHANGES):
            out.append(f"{where} (checkpoint {a!r}, now {b!r})")
    return out


class _StopFlag:
    """Ctrl-C / SIGTERM set a flag; the loop finishes its step, writes a checkpoint and stops.
    A second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.raised = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> "_StopFlag":
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no signal handling
                pass
        return self

    def _handle(self, signum, frame) -> None:
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True
        print("\nstopping after this step (Ctrl-C again to abort without a checkpoint)", file=sys.stderr)

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def train(
    config: TrainConfig,
    work_dir: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train as ``config`` says, writing checkpoints, logs and validation crops into ``work_dir``.

    ``resume`` continues from the newest checkpoint there and reproduces an uninterrupted run exactly
    (on the CPU); without it a work folder that already holds checkpoints is refused.
    """
    work = Path(work_dir)
    procs = distributed.start(config.train.device)
    say = (log or (lambda s: print(s, file=sys.stderr, flush=True))) if procs.is_main else (lambda s: None)
    try:
        return _run(config, work, resume, procs, say)
    finally:
        distributed.stop()


def _run(config: TrainConfig, work: Path, resume: bool, procs: distributed.Processes,
         say: Callable[[str], None]) -> TrainResult:
    t = config.train
    ckpt_dir = work / "checkpoints"
    existing = list_checkpoints(ckpt_dir)
    if resume and not existing:
        raise RealBasicVSRError(f"--resume: no checkpoint in {ckpt_dir}")
    if not resume and existing:
        raise RealBasicVSRError(f"{work} already holds checkpoints; pass --resume to continue, or choose "
                                "another --work-dir")
    state = None
    if resume:
        state = load_training_checkpoint(existing[-1][1])
        diffs = _config_differences(state["meta"]["config"], config.to_dict())
        if diffs:
            raise RealBasicVSRError(f"cannot resume {existing[-1][1]}: the config differs: {'; '.join(diffs[:3])}")

    torch.manual_seed(t.seed)
    dataset = build_dataset(config)  # validates data.root before any model work
    generator = build_generator(config, say, pretrained=state is None).to(procs.device)
    models = Models(generator, torch.optim.Adam(
        [p for p in generator.parameters() if p.requires_grad], lr=t.lr, betas=tuple(t.betas),
        weight_decay=t.weight_decay))
    if config.loss.perceptual_weight > 0:
        models.perceptual = PerceptualLoss(
            config.loss.perceptual_backbone, weights=config.loss.perceptual_weights or None,
            perceptual_weight=config.loss.perceptual_weight).to(procs.device)
    if config.uses_gan:
        models.discriminator = UNetDiscriminatorWithSpectralNorm(mid_channels=config.model.discriminator_channels)
        models.discriminator.to(procs.device)
        models.d_optimizer = torch.optim.Adam(models.discriminator.parameters(), lr=t.discriminator_lr,
                                              betas=tuple(t.betas))
        models.gan_loss = GANLoss(loss_weight=config.loss.gan_weight)
        if config.model.init and state is None:
            _init_discriminator(models.discriminator, config.model.init, say)
    if t.amp == "fp16":
        if procs.device.type != "cuda":
            raise RealBasicVSRError("train.amp = 'fp16' needs a CUDA device; use 'bf16' or 'none'")
        models.scalers = {"generator": torch.amp.GradScaler("cuda"),
                          **({"discriminator": torch.amp.GradScaler("cuda")} if config.uses_gan else {})}
    schedulers = {"generator": torch.optim.lr_scheduler.LambdaLR(models.optimizer, _lr_lambda(config, t.lr))}
    if models.d_optimizer is not None:
        schedulers["discriminator"] = torch.optim.lr_scheduler.LambdaLR(
            models.d_optimizer, _lr_lambda(config, t.discriminator_lr))
    ema = EMA(generator, t.ema_decay)

    start, best = 0, None
    if state is not None:
        start, best = _restore(state, models, ema, schedulers, procs)
        say(f"resumed from {existing[-1][1]} at iteration {start}")
    if procs.distributed and not t.cleaning_only:  # DDP needs every parameter used: cleaning-only is not
        models.generator = DistributedDataParallel(
            generator, device_ids=[procs.device.index] if procs.device.type == "cuda" else None)

    if procs.is_main:
        write_text_atomic(work / "config.toml", to_toml(config) + "\n")
    history: list[dict[str, float]] = []
    board = _tensorboard(work) if procs.is_main else None
    if start >= t.iterations:
        say(f"already trained {start} iterations (train.iterations = {t.iterations})")
        return TrainResult(start, existing[-1][1] if existing else None, history, procs.rank)

    def snapshot(iteration: int) -> dict[str, Any]:
        return _payload(config, iteration, models, ema, schedulers, best)

    validator = _make_validator(config, work, procs, say)
    loader = make_loader(dataset, config, rank=procs.rank, world_size=procs.world_size, start_step=start,
                         stop_step=t.iterations)
    batches = iter(loader)
    autocast = (lambda: _autocast(config, procs.device))
    meter = _Meter(start, t.iterations)
    last = None
    step = start
    generator.train()
    if models.discriminator is not None:
        models.discriminator.train()
    with _StopFlag() as stop:
        while step < t.iterations:
            logs: dict[str, float] = {}
            for micro in range(t.accumulate):
                batch = tuple(x.to(procs.device, non_blocking=True) for x in next(batches))
                sync = micro == t.accumulate - 1 or not procs.distributed
                with (nullcontext() if sync else models.generator.no_sync()):
                    for k, v in training_step(models, batch, config, scale_by=1.0 / t.accumulate,
                                              autocast=autocast).items():
                        logs[k] = logs.get(k, 0.0) + v / t.accumulate
            _optimise(models, ema, procs)
            for s in schedulers.values():
                s.step()
            step += 1
            meter.tick()
            history.append({"iteration": step, **logs})
            if procs.is_main:
                _append_jsonl(work / "log.jsonl", {"iteration": step, "lr": schedulers["generator"].get_last_lr()[0],
                                                   **logs, "seconds": round(meter.last_seconds, 4)})
                if step % t.log_every == 0 or step == t.iterations:
                    say(meter.line(step, logs))
                if board is not None:
                    for k, v in logs.items():
                        board.add_scalar(f"loss/{k}", v, step)
            if validator is not None and (step % config.val.every == 0 or step == t.iterations):
                score = validator(ema.module, step)
                if board is not None and score is not None:
                    for k, v in score["means"].items():
                        board.add_scalar(f"val/{k}", v, step)
                if score is not None and (best is None or score["better"](score["value"], best["value"])):
                    best = {"value": score["value"], "metric": score["metric"], "iteration": step}
                    if procs.is_main:
                        save_checkpoint(ckpt_dir / "best.pth", snapshot(step))
            stopping = distributed.all_ranks_agree(stop.raised, procs)
            if step % t.checkpoint_every == 0 or step == t.iterations or stopping:
                distributed.check_in_sync(_unwrap(models.generator), procs, f"iteration {step}")
                if procs.is_main:
                    last = save_checkpoint(ckpt_dir / checkpoint_name(step), snapshot(step))
                    for _, old in list_checkpoints(ckpt_dir)[:-t.keep_last]:
                        old.unlink(missing_ok=True)
                distributed.barrier(procs)
            if stopping:
                say(f"stopped at iteration {step}; checkpoint {last}; continue with --resume")
                raise KeyboardInterrupt
    del batches
    if board is not None:
        board.close()
    return TrainResult(step, last, history, procs.rank)


def _payload(config: TrainConfig, iteration: int, models: Models, ema: EMA, schedulers: dict, best) -> dict:
    sd = {f"generator.{k}": v for k, v in _unwrap(models.generator).state_dict().items()}
    sd.update({f"generator_ema.{k}": v for k, v in ema.state_dict().items()})
    optimizers = {"generator": models.optimizer.state_dict()}
    if models.discriminator is not None:
        sd.update({f"discriminator.{k}": v for k, v in models.discriminator.state_dict().items()})
        optimizers["discriminator"] = models.d_optimizer.state_dict()
    return {
        "meta": {"format": FORMAT, "version": __version__, "iteration": iteration, "config": config.to_dict(),
                 "best": best or {}},
        "state_dict": sd,
        "optimizers": optimizers,
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "scalers": {k: s.state_dict() for k, s in models.scalers.items()},
        "rng": rng_states(),
    }


def _restore(state: dict, models: Models, ema: EMA, schedulers: dict, procs) -> tuple[int, dict | None]:
    sd = state["state_dict"]

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v.to(procs.device) for k, v in sd.items() if k.startswith(prefix)}

    _unwrap(models.generator).load_state_dict(part("generator."))
    ema.load_state_dict(part("generator_ema."))
    models.optimizer.load_state_dict(state["optimizers"]["generator"])
    if models.discriminator is not None:
        models.discriminator.load_state_dict(part("discriminator."))
        models.d_optimizer.load_state_dict(state["optimizers"]["discriminator"])
    for k, s in schedulers.items():
        s.load_state_dict(state["schedulers"][k])
    for k, s in models.scalers.items():
        if k in state.get("scalers", {}):
            s.load_state_dict(state["scalers"][k])
    restore_rng_states(state["rng"])
    best = state["meta"].get("best") or None
    return int(state["meta"]["iteration"]), best


def _make_validator(config: TrainConfig, work: Path, procs, say):
    if not config.val.root:
        return None
    from .validate import Validator

    v = Validator(config, work / "val", procs.device)

    def run(model: nn.Module, step: int):
        result = None
        if procs.is_main:
            result = v(model, step)
            say(f"validation @ {step}: {result['summary']}")
        distributed.barrier(procs)
        return result

    return run


class _Meter:
    """Iterations per second (smoothed), ETA and the progress line."""

    def __init__(self, start: int, total: int) -> None:
        self.start, self.total = start, total
        self.t0 = self.t_last = time.perf_counter()
        self.last_seconds = 0.0

    def tick(self) -> None:
        """One step finished: remember how long it took."""
        now = time.perf_counter()
        self.last_seconds, self.t_last = now - self.t_last, now

    def line(self, step: int, logs: dict[str, float]) -> str:
        done = step - self.start
        rate = done / max(1e-9, time.perf_counter() - self.t0)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        losses = "  ".join(f"{k} {v:.4g}" for k, v in logs.items())
        return f"iter {step}/{self.total}  {rate:.3g} it/s  {losses}  eta {_duration(eta)}"


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{d}d {h}h" if d else f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


def _tensorboard(work: Path):
    """A TensorBoard writer under ``work/tensorboard`` when the optional ``tensorboard`` package is installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(work / "tensorboard"))


def _append_jsonl(path: Path, record: dict) -> None:
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
    except OSError as e:
        raise RealBasicVSRError(f"cannot write {path}: {e.strerror or e}") from e
