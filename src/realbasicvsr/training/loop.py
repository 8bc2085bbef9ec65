"""The training loop: build everything from a :class:`TrainConfig`, then one ``while`` over steps.

Single process::

    realbasicvsr train configs/smoke.toml --work-dir runs/smoke

One machine, 8 GPUs (or ``--nproc_per_node=2`` CPU processes with gloo)::

    torchrun --standalone --nproc_per_node=8 -m realbasicvsr train CONFIG --work-dir runs/x

:func:`train` sets up (:func:`_build`), restores a checkpoint when resuming, then repeats :func:`_one_step`
(micro-batches through :func:`~realbasicvsr.training.step.training_step`, then the optimiser steps), logging,
validating and saving checkpoints as the config says.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch.nn.parallel import DistributedDataParallel

from ..atomic import write_text_atomic
from ..checkpoint import load_model
from ..errors import RealBasicVSRError
from ..losses import GANLoss, PerceptualLoss, cleaning_target
from ..models import UNetDiscriminatorWithSpectralNorm
from ..tomlconfig import to_toml
from . import distributed
from .checkpoints import checkpoint_name, list_checkpoints, payload, restore, resume_state, save_checkpoint
from .config import TrainConfig
from .data import build_dataset, make_loader
from .ema import EMA
from .initialisation import build_generator, init_discriminator
from .progress import Meter, RunLog, Say, StopFlag, quiet, say_to_stderr
from .step import Models, autocast_for, optimise, training_step, unwrap
from .validate import ValidationResult, Validator


@dataclass
class TrainResult:
    """Where a run ended: the last iteration, its checkpoint (rank 0), the per-step losses of this run."""

    iteration: int
    checkpoint: Path | None
    history: list[dict[str, float]]
    rank: int = 0


@dataclass
class _Run:
    """One run's parts: what the loop steps, records and saves."""

    config: TrainConfig
    work: Path
    procs: distributed.Processes
    say: Say
    models: Models
    ema: EMA
    schedulers: dict[str, torch.optim.lr_scheduler.LambdaLR]
    best: dict[str, Any] | None = None

    @property
    def checkpoints(self) -> Path:
        """The folder of the run's checkpoints."""
        return self.work / "checkpoints"

    def save(self, name: str, step: int) -> Path:
        """Write the run's state at ``step`` as ``checkpoints/<name>``."""
        return save_checkpoint(self.checkpoints / name,
                               payload(self.config, step, self.models, self.ema, self.schedulers, self.best))


def train(
    config: TrainConfig,
    work_dir: str | Path,
    *,
    resume: bool = False,
    log: Say | None = None,
) -> TrainResult:
    """Train as ``config`` says, writing checkpoints, logs and validation crops into ``work_dir``.

    ``resume`` continues from the newest checkpoint there and reproduces an uninterrupted run exactly
    (on the CPU); without it a work folder that already holds checkpoints is refused. ``log`` receives the
    progress lines (rank 0; default: stderr), settings marked as in :class:`~realbasicvsr.report.SettingError`.
    """
    work = Path(work_dir)
    procs = distributed.start(config.train.device)
    say = (log or say_to_stderr) if procs.is_main else quiet
    try:
        return _train(config, work, resume, procs, say)
    finally:
        distributed.stop()


def _train(config: TrainConfig, work: Path, resume: bool, procs: distributed.Processes, say: Say) -> TrainResult:
    """Check the work folder, seed, build the data and the models, restore a checkpoint, then loop."""
    t = config.train
    resumed = resume_state(work / "checkpoints", config, resume)
    torch.manual_seed(t.seed)
    dataset = build_dataset(config)  # validates data.root before any model work
    run = _build(config, work, procs, say, fresh=resumed is None)
    start = 0
    if resumed is not None:
        start, run.best = restore(resumed[0], run.models, run.ema, run.schedulers, procs.device)
        say(f"resumed from {resumed[1]} at iteration {start}")
    if procs.distributed and not t.cleaning_only:  # DDP needs every parameter used: cleaning-only is not
        run.models.generator = DistributedDataParallel(
            run.models.generator, device_ids=[procs.device.index] if procs.device.type == "cuda" else None)
    if procs.is_main:
        write_text_atomic(work / "config.toml", to_toml(config) + "\n")
    if start >= t.iterations:
        say(f"already trained {start} iterations (train.iterations = {t.iterations})")
        return TrainResult(start, resumed[1] if resumed else None, [], procs.rank)
    validator = Validator(config, work / "val", procs.device) if config.val.root else None
    loader = make_loader(dataset, config, rank=procs.rank, world_size=procs.world_size, start_step=start,
                         stop_step=t.iterations)
    return _loop(run, iter(loader), start, validator)


def _build(config: TrainConfig, work: Path, procs: distributed.Processes, say: Say, *, fresh: bool) -> _Run:
    """The generator, its optimiser, the stage-2 parts, grad scalers, LR schedules and the EMA copy, in this
    order (each draws from the seeded RNG); ``fresh``: initialised as ``[model]`` says, else random weights
    that a checkpoint will overwrite."""
    t = config.train
    generator = build_generator(config, say, pretrained=fresh).to(procs.device)
    models = Models(generator, torch.optim.Adam(
        [p for p in generator.parameters() if p.requires_grad], lr=t.lr, betas=tuple(t.betas),
        weight_decay=t.weight_decay))
    if config.loss.perceptual_weight > 0:
        models.perceptual = PerceptualLoss(
            config.loss.perceptual_backbone, weights=config.loss.perceptual_weights or None,
            perceptual_weight=config.loss.perceptual_weight).to(procs.device)
    if config.loss.distill_weight > 0:
        models.teacher = load_teacher(config, procs.device)
    if config.uses_gan:
        models.discriminator = UNetDiscriminatorWithSpectralNorm(mid_channels=config.model.discriminator_channels)
        models.discriminator.to(procs.device)
        models.d_optimizer = torch.optim.Adam(models.discriminator.parameters(), lr=t.discriminator_lr,
                                              betas=tuple(t.betas))
        models.gan_loss = GANLoss(loss_weight=config.loss.gan_weight)
        if config.model.init and fresh:
            init_discriminator(models.discriminator, config.model.init, say)
    if t.amp == "fp16":
        if procs.device.type != "cuda":
            raise RealBasicVSRError("train.amp = 'fp16' needs a CUDA device; use 'bf16' or 'none'")
        models.scalers = {"generator": torch.amp.GradScaler("cuda"),
                          **({"discriminator": torch.amp.GradScaler("cuda")} if config.uses_gan else {})}
    schedulers = {"generator": torch.optim.lr_scheduler.LambdaLR(models.optimizer, _lr_factor(config, t.lr))}
    if models.d_optimizer is not None:
        schedulers["discriminator"] = torch.optim.lr_scheduler.LambdaLR(
            models.d_optimizer, _lr_factor(config, t.discriminator_lr))
    return _Run(config, work, procs, say, models, EMA(generator, t.ema_decay), schedulers)


class CascadeTeacher(torch.nn.Module):
    """A teacher in two stages: ``first``'s output, shrunk back to the input size by antialiased bicubic,
    upscaled again by ``then`` (a model that restores the input, then a BasicVSR trained on bicubic inputs)."""

    def __init__(self, first: torch.nn.Module, then: torch.nn.Module) -> None:
        super().__init__()
        self.first, self.then, self.upscale = first, then, then.upscale

    def forward(self, lq: torch.Tensor) -> torch.Tensor:
        return self.then(cleaning_target(self.first(lq).clamp(0, 1), self.first.upscale, "bicubic"))


def load_teacher(config: TrainConfig, device: torch.device) -> torch.nn.Module:
    """``loss.distill_teacher`` (then ``loss.distill_then``, if set) as a frozen model at the generator's scale
    (one line naming the setting if not)."""
    stages = []
    for key in ("distill_teacher", "distill_then"):
        source = getattr(config.loss, key)
        if not source:
            continue
        model = load_model(source, device=device).requires_grad_(False)
        scale = getattr(model, "upscale", None)
        if scale != config.model.upscale:
            raise RealBasicVSRError(f"loss.{key} {source!r} upscales x{scale if scale else '?'}, "
                                    f"the model x{config.model.upscale}")
        stages.append(model)
    return stages[0] if len(stages) == 1 else CascadeTeacher(*stages)


def _lr_factor(config: TrainConfig, base_lr: float) -> Callable[[int], float]:
    """The learning rate's multiplier at each step: linear warm-up, then constant or cosine to ``min_lr``."""
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


def _loop(run: _Run, batches: Iterator, start: int, validator: Validator | None) -> TrainResult:
    """Steps ``start + 1 .. train.iterations``: train, record, validate, save; Ctrl-C saves and stops."""
    config, procs, t = run.config, run.procs, run.config.train
    records = RunLog(run.work, enabled=procs.is_main)
    meter = Meter(start, t.iterations)
    history: list[dict[str, float]] = []
    last, step = None, start
    run.models.generator.train()
    if run.models.discriminator is not None:
        run.models.discriminator.train()
    with StopFlag() as stop:
        while step < t.iterations:
            logs = _one_step(run, batches)
            step += 1
            meter.tick()
            history.append({"iteration": step, **logs})
            records.step({"iteration": step, "lr": run.schedulers["generator"].get_last_lr()[0], **logs,
                          "seconds": round(meter.last_seconds, 4)}, logs)
            if step % t.log_every == 0 or step == t.iterations:
                run.say(meter.line(step, logs))
            if validator is not None and (step % config.val.every == 0 or step == t.iterations):
                _validate(run, validator, step, records)
            stopping = distributed.all_ranks_agree(stop.raised, procs)
            if step % t.checkpoint_every == 0 or step == t.iterations or stopping:
                last = _save_periodic(run, step) or last
            if stopping:
                run.say(f"stopped at iteration {step}; checkpoint {last}; continue with `resume`")
                raise KeyboardInterrupt
    del batches
    records.close()
    return TrainResult(step, last, history, procs.rank)


def _one_step(run: _Run, batches: Iterator) -> dict[str, float]:
    """``train.accumulate`` micro-batches forward and backward, then the optimiser and LR-schedule steps;
    returns the step's mean losses."""
    config, procs, t = run.config, run.procs, run.config.train
    logs: dict[str, float] = {}
    for micro in range(t.accumulate):
        batch = tuple(x.to(procs.device, non_blocking=True) for x in next(batches))
        sync = micro == t.accumulate - 1 or not procs.distributed
        with (nullcontext() if sync else run.models.generator.no_sync()):
            for k, v in training_step(run.models, batch, config, scale_by=1.0 / t.accumulate,
                                      autocast=lambda: autocast_for(config, procs.device)).items():
                logs[k] = logs.get(k, 0.0) + v / t.accumulate
    optimise(run.models, run.ema, procs)
    for s in run.schedulers.values():
        s.step()
    return logs


def _validate(run: _Run, validator: Validator, step: int, records: RunLog) -> None:
    """Score the EMA model on rank 0 (the others wait); a better score than the best so far writes best.pth."""
    score: ValidationResult | None = None
    if run.procs.is_main:
        score = validator(run.ema.module, step)
        run.say(f"validation @ {step}: {score.summary}")
    distributed.barrier(run.procs)
    if score is None:
        return
    records.scalars("val", score.means, step)
    if score.better_than(run.best["value"] if run.best else None):
        run.best = {"value": score.value, "metric": score.metric, "iteration": step}
        run.save("best.pth", step)


def _save_periodic(run: _Run, step: int) -> Path | None:
    """Check the ranks agree, then (rank 0) write ``iter_<step>.pth`` and drop all but the newest
    ``train.keep_last``; returns the checkpoint on rank 0."""
    distributed.check_in_sync(unwrap(run.models.generator), run.procs, f"iteration {step}")
    path = None
    if run.procs.is_main:
        path = run.save(checkpoint_name(step), step)
        for _, old in list_checkpoints(run.checkpoints)[:-run.config.train.keep_last]:
            old.unlink(missing_ok=True)
    distributed.barrier(run.procs)
    return path
