"""Typed settings of the degradation pipeline; the defaults are the RealBasicVSR seed recipe.

Every range, probability and random-walk step can be overridden from a TOML file or from a nested dict
(e.g. the ``[degradations]`` table of a training config). Unknown keys and inconsistent values raise
:class:`~realbasicvsr.errors.RealBasicVSRError` so a typo never silently falls back to a default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..tomlconfig import Config, merge, read_toml, requirement


PI = math.pi
KERNEL_TYPES = (
    "iso",
    "aniso",
    "generalized_iso",
    "generalized_aniso",
    "plateau_iso",
    "plateau_aniso",
    "sinc",
)
INTERPOLATIONS = ("bilinear", "area", "bicubic")
NOISE_TYPES = ("gaussian", "poisson")
CODECS = ("libx264", "h264", "mpeg4")
KERNEL_SIZES = (7, 9, 11, 13, 15, 17, 19, 21)


@dataclass(frozen=True)
class BlurConfig:
    """Random blur: one kernel family and size per clip, shape parameters walking per frame."""

    prob: float = 1.0
    kernel_sizes: tuple[int, ...] = KERNEL_SIZES
    kernel_types: tuple[str, ...] = KERNEL_TYPES
    kernel_probs: tuple[float, ...] = (0.405, 0.225, 0.108, 0.027, 0.108, 0.027, 0.1)
    sigma_x: tuple[float, float] = (0.2, 3.0)
    sigma_y: tuple[float, float] = (0.2, 3.0)
    rotation: tuple[float, float] = (-PI, PI)
    beta_gaussian: tuple[float, float] = (0.5, 4.0)
    beta_plateau: tuple[float, float] = (1.0, 2.0)
    # Sinc cut-off range; empty = the Real-ESRGAN rule: [pi/3, pi] below size 13, else [pi/5, pi].
    omega: tuple[float, ...] = ()
    sigma_x_step: float = 0.02
    sigma_y_step: float = 0.02
    rotation_step: float = 0.31416
    beta_gaussian_step: float = 0.05
    beta_plateau_step: float = 0.1
    omega_step: float = 0.0628

    def omega_range(self, kernel_size: int) -> tuple[float, float]:
        """The sinc cut-off range used for a given kernel size."""
        if self.omega:
            return (float(self.omega[0]), float(self.omega[1]))
        return (PI / 3, PI) if kernel_size < 13 else (PI / 5, PI)


@dataclass(frozen=True)
class ResizeConfig:
    """Random resize: mode (up/down/keep) and interpolation per clip, scale walking per frame."""

    prob: float = 1.0
    mode_probs: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    scale: tuple[float, float] = (0.15, 1.5)
    scale_step: float = 0.015
    interpolations: tuple[str, ...] = INTERPOLATIONS
    interpolation_probs: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)
    even_size: bool = True


@dataclass(frozen=True)
class NoiseConfig:
    """Additive Gaussian or Poisson noise (values on the 0-255 scale), colour or gray."""

    prob: float = 1.0
    noise_types: tuple[str, ...] = NOISE_TYPES
    noise_probs: tuple[float, ...] = (0.5, 0.5)
    gaussian_sigma: tuple[float, float] = (1.0, 30.0)
    gaussian_sigma_step: float = 0.1
    gaussian_gray_prob: float = 0.4
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    poisson_scale_step: float = 0.005
    poisson_gray_prob: float = 0.4


@dataclass(frozen=True)
class JPEGConfig:
    """JPEG compression with a quality walking per frame (rounded every frame)."""

    prob: float = 1.0
    quality: tuple[float, float] = (30.0, 95.0)
    quality_step: float = 3.0


@dataclass(frozen=True)
class VideoCompressionConfig:
    """Whole-clip video compression in memory with a codec and bitrate drawn once per clip.

    The clip is encoded at 1 fps, so ``bitrate`` (bit/s, the seed recipe's range) is bits per frame: on small
    training crops that is several bits per pixel, nearly lossless. ``bits_per_pixel`` = [low, high], when
    set, replaces it with a rate per pixel drawn log-uniformly (real web video is about 0.02-0.2).
    """

    prob: float = 1.0
    codecs: tuple[str, ...] = CODECS
    codec_probs: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)
    bitrate: tuple[int, int] = (10_000, 100_000)
    bits_per_pixel: tuple[float, ...] = ()


@dataclass(frozen=True)
class OrderConfig:
    """One degradation order: blur, resize, noise, JPEG, then video compression."""

    blur: BlurConfig = field(default_factory=BlurConfig)
    resize: ResizeConfig = field(default_factory=ResizeConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    jpeg: JPEGConfig = field(default_factory=JPEGConfig)
    video: VideoCompressionConfig = field(default_factory=VideoCompressionConfig)


@dataclass(frozen=True)
class FinalConfig:
    """The last stage: {video compression} and {resize to GT/scale + sinc} in a random order."""

    shuffle: bool = True
    video: VideoCompressionConfig = field(default_factory=VideoCompressionConfig)
    interpolations: tuple[str, ...] = INTERPOLATIONS
    interpolation_probs: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)
    sinc: BlurConfig = field(
        default_factory=lambda: BlurConfig(
            prob=0.8, kernel_types=("sinc",), kernel_probs=(1.0,), omega=(PI / 3, PI)
        )
    )


@dataclass(frozen=True)
class UnsharpConfig:
    """Unsharp masking of the GT (the training target); sigma 0 = OpenCV's rule from the size."""

    enabled: bool = True
    kernel_size: int = 51
    sigma: float = 0.0
    weight: float = 0.5
    threshold: float = 10.0


def _second_order() -> OrderConfig:
    return OrderConfig(
        blur=BlurConfig(prob=0.8, sigma_x=(0.2, 1.5), sigma_y=(0.2, 1.5)),
        resize=ResizeConfig(mode_probs=(0.3, 0.4, 0.3), scale=(0.3, 1.2), scale_step=0.03),
        noise=NoiseConfig(gaussian_sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5)),
        jpeg=JPEGConfig(),
        video=VideoCompressionConfig(prob=0.0),
    )


@dataclass(frozen=True)
class DegradationConfig(Config):
    """The whole LQ synthesis: GT sharpening, two degradation orders, the shuffled final pair."""

    scale: int = 4
    unsharp: UnsharpConfig = field(default_factory=UnsharpConfig)
    first: OrderConfig = field(default_factory=OrderConfig)
    second: OrderConfig = field(default_factory=_second_order)
    final: FinalConfig = field(default_factory=FinalConfig)

    def replace(self, overrides: Mapping[str, Any]) -> "DegradationConfig":
        """A copy with the values of a nested mapping (same shape as the TOML file) overriding these."""
        return merge(self, overrides, "degradation")

    def validate(self) -> None:
        _validate(self)


_check = requirement("degradation")


def _check_range(rng: tuple, where: str, low: float = -math.inf) -> None:
    _check(len(rng) == 2, f"{where} must be [low, high]")
    _check(all(isinstance(v, (int, float)) for v in rng), f"{where} must hold numbers")
    _check(low <= rng[0] <= rng[1], f"{where} must satisfy {low} <= low <= high, got {list(rng)}")


def _check_probs(probs: tuple, names: tuple, allowed: tuple, where: str) -> None:
    _check(len(names) > 0 and len(probs) == len(names), f"{where}: one probability per choice")
    _check(all(n in allowed for n in names), f"{where}: choices must be among {', '.join(allowed)}")
    _check(all(isinstance(p, (int, float)) and p >= 0 for p in probs), f"{where}: probabilities >= 0")
    _check(abs(sum(probs) - 1) < 1e-6, f"{where}: probabilities must sum to 1, got {sum(probs):.6g}")


def _check_prob(p: float, where: str) -> None:
    _check(0.0 <= p <= 1.0, f"{where}.prob must be in [0, 1], got {p}")


def _validate_blur(b: BlurConfig, where: str) -> None:
    _check_prob(b.prob, where)
    _check(len(b.kernel_sizes) > 0, f"{where}.kernel_sizes is empty")
    _check(all(isinstance(k, int) and k >= 3 and k % 2 == 1 for k in b.kernel_sizes),
           f"{where}.kernel_sizes must be odd integers >= 3")
    _check_probs(b.kernel_probs, b.kernel_types, KERNEL_TYPES, f"{where}.kernel_types")
    _check_range(b.sigma_x, f"{where}.sigma_x", 1e-3)
    _check_range(b.sigma_y, f"{where}.sigma_y", 1e-3)
    _check_range(b.rotation, f"{where}.rotation")
    _check_range(b.beta_gaussian, f"{where}.beta_gaussian", 1e-3)
    _check_range(b.beta_plateau, f"{where}.beta_plateau", 1e-3)
    if b.omega:
        _check_range(b.omega, f"{where}.omega", 1e-3)
    for name in ("sigma_x_step", "sigma_y_step", "rotation_step", "beta_gaussian_step",
                 "beta_plateau_step", "omega_step"):
        _check(getattr(b, name) >= 0, f"{where}.{name} must be >= 0")


def _validate_video(v: VideoCompressionConfig, where: str) -> None:
    _check_prob(v.prob, where)
    _check_probs(v.codec_probs, v.codecs, CODECS, f"{where}.codecs")
    _check_range(v.bitrate, f"{where}.bitrate", 1)
    if v.bits_per_pixel:
        _check_range(v.bits_per_pixel, f"{where}.bits_per_pixel", 1e-4)


def _validate_order(o: OrderConfig, where: str) -> None:
    _validate_blur(o.blur, f"{where}.blur")
    r = o.resize
    _check_prob(r.prob, f"{where}.resize")
    _check_probs(r.mode_probs, ("up", "down", "keep"), ("up", "down", "keep"), f"{where}.resize.mode_probs")
    _check_range(r.scale, f"{where}.resize.scale", 1e-3)
    _check(r.scale[0] <= 1 <= r.scale[1], f"{where}.resize.scale must contain 1")
    _check(r.scale_step >= 0, f"{where}.resize.scale_step must be >= 0")
    _check_probs(r.interpolation_probs, r.interpolations, INTERPOLATIONS, f"{where}.resize.interpolations")
    n = o.noise
    _check_prob(n.prob, f"{where}.noise")
    _check_probs(n.noise_probs, n.noise_types, NOISE_TYPES, f"{where}.noise.noise_types")
    _check_range(n.gaussian_sigma, f"{where}.noise.gaussian_sigma", 0)
    _check_range(n.poisson_scale, f"{where}.noise.poisson_scale", 0)
    _check(0 <= n.gaussian_gray_prob <= 1 and 0 <= n.poisson_gray_prob <= 1, f"{where}.noise gray probs in [0, 1]")
    _check(n.gaussian_sigma_step >= 0 and n.poisson_scale_step >= 0, f"{where}.noise steps must be >= 0")
    _check_prob(o.jpeg.prob, f"{where}.jpeg")
    _check_range(o.jpeg.quality, f"{where}.jpeg.quality", 0)
    _check(o.jpeg.quality[1] <= 100, f"{where}.jpeg.quality must be <= 100")
    _check(o.jpeg.quality_step >= 0, f"{where}.jpeg.quality_step must be >= 0")
    _validate_video(o.video, f"{where}.video")


def _validate(c: DegradationConfig) -> None:
    _check(isinstance(c.scale, int) and c.scale >= 1, f"scale must be an integer >= 1, got {c.scale!r}")
    u = c.unsharp
    _check(u.kernel_size >= 1 and u.kernel_size % 2 == 1, "unsharp.kernel_size must be odd")
    _check(u.sigma >= 0 and u.weight >= 0 and u.threshold >= 0, "unsharp sigma/weight/threshold must be >= 0")
    _validate_order(c.first, "first")
    _validate_order(c.second, "second")
    f = c.final
    _validate_video(f.video, "final.video")
    _check_probs(f.interpolation_probs, f.interpolations, INTERPOLATIONS, "final.interpolations")
    _validate_blur(f.sinc, "final.sinc")


def load_degradation_config(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> DegradationConfig:
    """Seed-recipe defaults, overridden by a TOML file (if given), then by a nested mapping (if given).

    The TOML may hold the settings at its top level or inside a ``[degradations]`` table.
    """
    config = DegradationConfig()
    if path is not None:
        data = read_toml(path, "degradation")
        if "degradations" in data and isinstance(data["degradations"], dict):
            data = data["degradations"]
        config = config.replace(data)
    if overrides:
        config = config.replace(overrides)
    return config
