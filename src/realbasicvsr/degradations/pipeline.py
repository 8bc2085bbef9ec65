"""The RealBasicVSR LQ synthesis with the stochastic degradation scheme.

Per clip, every discrete choice (whether an operation applies, kernel family and size, noise type, gray
noise, interpolation, codec, bitrate, the order of the final pair) is drawn once; every continuous
parameter starts uniform in its range and then random-walks frame by frame (a uniform step in
[-step, +step], clipped to the range). A :class:`ClipDegrader` holds that state, so a long video can be
degraded window by window with the walk continuing across windows. All randomness comes from the
``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import abc
import math
from typing import Any, Sequence

import numpy as np

from ..errors import RealBasicVSRError
from . import ops
from .config import BlurConfig, DegradationConfig, JPEGConfig, NoiseConfig, ResizeConfig, VideoCompressionConfig
from .kernels import make_kernels


class RandomWalk:
    """A continuous parameter: starts uniform in [low, high] (or at ``start``), then per frame adds a
    uniform step in [-step, step] and is clipped to [low, high] (and rounded, if asked)."""

    def __init__(
        self,
        low: float,
        high: float,
        step: float,
        rng: np.random.Generator,
        start: float | None = None,
        rounded: bool = False,
    ) -> None:
        self.low, self.high, self.step, self.rng, self.rounded = float(low), float(high), float(step), rng, rounded
        value = float(rng.uniform(self.low, self.high)) if start is None else float(start)
        self.value = float(np.round(value)) if rounded else value

    def take(self, n: int) -> np.ndarray:
        """The values for the next n frames (float64), advancing the walk."""
        out = np.empty(n, dtype=np.float64)
        steps = self.rng.uniform(-self.step, self.step, size=n) if self.step > 0 else np.zeros(n)
        v = self.value
        for i in range(n):
            out[i] = v
            v = min(max(v + steps[i], self.low), self.high)
            if self.rounded:
                v = float(np.round(v))
        self.value = v
        return out


def _choose(names: Sequence[Any], probs: Sequence[float], rng: np.random.Generator) -> Any:
    p = np.asarray(probs, dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


class _Op(abc.ABC):
    """One operation of one clip: its once-per-clip draws, its walks, and a trace of what it applied."""

    name = ""

    def __init__(self, prob: float, rng: np.random.Generator) -> None:
        self.rng = rng
        self.active = bool(rng.random() < prob)
        self.choices: dict[str, Any] = {}
        self.walks: dict[str, RandomWalk] = {}
        self.history: dict[str, list[float]] = {}

    def _params(self, n: int) -> dict[str, np.ndarray]:
        params = {k: w.take(n) for k, w in self.walks.items()}
        for k, v in params.items():
            self.history.setdefault(k, []).extend(v.tolist())
        return params

    def __call__(self, frames: ops.Frames) -> ops.Frames:
        if not self.active or not frames:
            return frames
        return self.apply(frames, self._params(len(frames)))

    @abc.abstractmethod
    def apply(self, frames: ops.Frames, params: dict[str, np.ndarray]) -> ops.Frames:
        """Apply the operation to frames with per-frame parameter arrays."""

    def summary(self) -> dict[str, Any]:
        """What this clip drew: active flag, discrete choices and the per-frame values applied so far."""
        return {"active": self.active, **self.choices, **{k: list(v) for k, v in self.history.items()}}


class BlurOp(_Op):
    """Blur with one kernel family and size per clip; kernel shape parameters walk per frame."""

    name = "blur"

    def __init__(self, cfg: BlurConfig, rng: np.random.Generator) -> None:
        super().__init__(cfg.prob, rng)
        kind = _choose(cfg.kernel_types, cfg.kernel_probs, rng)
        size = int(_choose(cfg.kernel_sizes, [1.0] * len(cfg.kernel_sizes), rng))
        self.choices = {"kernel_type": kind, "kernel_size": size}
        if kind == "sinc":
            lo, hi = cfg.omega_range(size)
            self.walks["omega"] = RandomWalk(lo, hi, cfg.omega_step, rng)
        else:
            self.walks["sigma_x"] = RandomWalk(*cfg.sigma_x, cfg.sigma_x_step, rng)
            if kind.endswith("aniso"):
                self.walks["sigma_y"] = RandomWalk(*cfg.sigma_y, cfg.sigma_y_step, rng)
                self.walks["rotation"] = RandomWalk(*cfg.rotation, cfg.rotation_step, rng)
            if kind.startswith("generalized"):
                self.walks["beta_gaussian"] = RandomWalk(*cfg.beta_gaussian, cfg.beta_gaussian_step, rng)
            if kind.startswith("plateau"):
                self.walks["beta_plateau"] = RandomWalk(*cfg.beta_plateau, cfg.beta_plateau_step, rng)

    def kernels(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """The per-frame kernels for given parameter arrays, (N, size, size)."""
        return make_kernels(self.choices["kernel_type"], self.choices["kernel_size"], params)

    def apply(self, frames: ops.Frames, params: dict[str, np.ndarray]) -> ops.Frames:
        return ops.filter_frames(frames, self.kernels(params))


def _even_size(h: float, w: float, even: bool) -> tuple[int, int]:
    if even:
        h, w = 2 * (h // 2), 2 * (w // 2)
    lo = 2 if even else 1
    return max(int(h), lo), max(int(w), lo)


class ResizeOp(_Op):
    """Resize by a scale walking per frame, relative to the first frame's size (frame sizes may differ).

    The mode draws the start: up in [1, max], down in [min, 1], keep = 1; the walk is clipped to
    [min, max] whatever the mode (as in the reference).
    """

    name = "resize"

    def __init__(self, cfg: ResizeConfig, rng: np.random.Generator) -> None:
        super().__init__(cfg.prob, rng)
        self.cfg = cfg
        mode = _choose(("up", "down", "keep"), cfg.mode_probs, rng)
        interp = _choose(cfg.interpolations, cfg.interpolation_probs, rng)
        self.choices = {"mode": mode, "interpolation": interp}
        lo, hi = cfg.scale
        start = {"up": rng.uniform(1.0, hi), "down": rng.uniform(lo, 1.0), "keep": 1.0}[mode]
        self.walks["scale"] = RandomWalk(lo, hi, cfg.scale_step, rng, start=start)
        self.base: tuple[int, int] | None = None

    def apply(self, frames: ops.Frames, params: dict[str, np.ndarray]) -> ops.Frames:
        if self.base is None:
            self.base = frames[0].shape[:2]
        h, w = self.base
        sizes = [_even_size(h * s, w * s, self.cfg.even_size) for s in params["scale"]]
        return ops.resize_frames(frames, sizes, self.choices["interpolation"])


class NoiseOp(_Op):
    """Gaussian or Poisson noise (type and gray drawn per clip; sigma or scale walking per frame)."""

    name = "noise"

    def __init__(self, cfg: NoiseConfig, rng: np.random.Generator) -> None:
        super().__init__(cfg.prob, rng)
        kind = _choose(cfg.noise_types, cfg.noise_probs, rng)
        if kind == "gaussian":
            gray = bool(rng.random() < cfg.gaussian_gray_prob)
            self.walks["sigma"] = RandomWalk(*cfg.gaussian_sigma, cfg.gaussian_sigma_step, rng)
        else:
            gray = bool(rng.random() < cfg.poisson_gray_prob)
            self.walks["scale"] = RandomWalk(*cfg.poisson_scale, cfg.poisson_scale_step, rng)
        self.choices = {"noise_type": kind, "gray": gray}

    def apply(self, frames: ops.Frames, params: dict[str, np.ndarray]) -> ops.Frames:
        gray = self.choices["gray"]
        if self.choices["noise_type"] == "gaussian":
            return ops.add_gaussian_noise(frames, params["sigma"], gray, self.rng)
        return ops.add_poisson_noise(frames, params["scale"], gray, self.rng)


class JPEGOp(_Op):
    """JPEG with a quality walking per frame, rounded to an integer every frame."""

    name = "jpeg"

    def __init__(self, cfg: JPEGConfig, rng: np.random.Generator) -> None:
        super().__init__(cfg.prob, rng)
        self.walks["quality"] = RandomWalk(*cfg.quality, cfg.quality_step, rng, rounded=True)

    def apply(self, frames: ops.Frames, params: dict[str, np.ndarray]) -> ops.Frames:
        return ops.jpeg_compress(frames, params["quality"].astype(int))


class VideoOp(_Op):
    """Video compression of the whole clip (window) with a codec and bitrate drawn once per clip."""

    name = "video"

    def __init__(self, cfg: VideoCompressionConfig, rng: np.random.Generator) -> None:
        super().__init__(cfg.prob, rng)
        codec = _choose(cfg.codecs, cfg.codec_probs, rng)
        self.choices: dict[str, Any] = {"codec": codec}
        if cfg.bits_per_pixel:
            low, high = np.log(cfg.bits_per_pixel[0]), np.log(cfg.bits_per_pixel[1])
            self.choices["bits_per_pixel"] = float(np.exp(rng.uniform(low, high)))
        else:
            self.choices["bitrate"] = int(rng.integers(int(cfg.bitrate[0]), int(cfg.bitrate[1]) + 1))
        self.size: tuple[int, int] | None = None

    def apply(self, frames: ops.Frames, params: dict[str, np.ndarray]) -> ops.Frames:
        if self.size is None:
            self.size = frames[0].shape[:2]
            if "bits_per_pixel" in self.choices:
                # Encoders take whole kbit/s: a frame rate high enough that the rate is >= 4 kbit/s.
                bits_per_frame = self.choices["bits_per_pixel"] * self.size[0] * self.size[1]
                self.choices["rate"] = max(25, math.ceil(4000 / bits_per_frame))
                self.choices["bitrate"] = round(bits_per_frame * self.choices["rate"])
        return ops.video_compress(frames, self.choices["codec"], self.choices["bitrate"], self.size,
                                  self.choices.get("rate", 1))


class FixedResizeOp(_Op):
    """Resize every frame to one target size with an interpolation drawn once per clip."""

    name = "final_resize"

    def __init__(self, size: tuple[int, int], interpolations: Sequence[str], probs: Sequence[float],
                 rng: np.random.Generator) -> None:
        super().__init__(1.0, rng)
        self.size = size
        self.choices = {"interpolation": _choose(interpolations, probs, rng), "size": list(size)}

    def apply(self, frames: ops.Frames, params: dict[str, np.ndarray]) -> ops.Frames:
        return ops.resize_frames(frames, [self.size] * len(frames), self.choices["interpolation"])


def mirror_sequence(frames: np.ndarray) -> np.ndarray:
    """Frames 0..T-1 followed by T-1..0 (2T frames), the temporal mirroring of the training recipe."""
    return np.concatenate([frames, frames[::-1]], axis=0)


class ClipDegrader:
    """The degradation state of one clip: call it on consecutive windows of frames of the same clip.

    Each call returns the LQ frames of that window, (n, H/scale, W/scale, 3) float32 on 8-bit levels.
    """

    def __init__(self, config: DegradationConfig, rng: np.random.Generator, gt_size: tuple[int, int]) -> None:
        h, w = int(gt_size[0]), int(gt_size[1])
        out_size = (h // config.scale, w // config.scale)
        if min(out_size) < 1:
            raise RealBasicVSRError(f"frames of {w}x{h} are too small to degrade at scale {config.scale}")
        self.out_size = out_size
        stages: list[tuple[str, _Op]] = []
        for prefix, order in (("first", config.first), ("second", config.second)):
            stages += [
                (f"{prefix}.blur", BlurOp(order.blur, rng)),
                (f"{prefix}.resize", ResizeOp(order.resize, rng)),
                (f"{prefix}.noise", NoiseOp(order.noise, rng)),
                (f"{prefix}.jpeg", JPEGOp(order.jpeg, rng)),
                (f"{prefix}.video", VideoOp(order.video, rng)),
            ]
        fin = config.final
        groups: list[list[tuple[str, _Op]]] = [
            [("final.video", VideoOp(fin.video, rng))],
            [
                ("final.resize", FixedResizeOp(out_size, fin.interpolations, fin.interpolation_probs, rng)),
                ("final.sinc", BlurOp(fin.sinc, rng)),
            ],
        ]
        order = [int(i) for i in rng.permutation(2)] if fin.shuffle else [0, 1]
        self.final_order = ["video" if i == 0 else "resize+sinc" for i in order]
        for i in order:
            stages += groups[i]
        self.stages = stages

    def __call__(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Degrade the next window of (sharpened) frames of this clip."""
        out: ops.Frames = [np.asarray(f, dtype=np.float32) for f in frames]  # keeps float32 objects as they are
        if not out:
            return np.zeros((0, *self.out_size, 3), dtype=np.float32)
        for _, op in self.stages:
            out = op(out)
        return ops.quantize(out)

    @property
    def operations(self) -> dict[str, _Op]:
        """The operations by their stage name, e.g. ``"first.blur"``, ``"final.video"``."""
        return dict(self.stages)

    def summary(self) -> dict[str, Any]:
        """Everything drawn for this clip so far (choices and per-frame parameters), JSON-friendly."""
        return {"final_order": self.final_order, **{k: op.summary() for k, op in self.stages}}


class DegradationPipeline:
    """Configured LQ synthesis: sharpen the GT, then degrade it with the stochastic scheme.

    ``pipeline(clip, rng, mirror=True)`` takes (T, H, W, 3) float32 frames in [0, 1] and returns
    ``(lq, gt_sharpened)``: (T', H/scale, W/scale, 3) and (T', H, W, 3), T' = 2T when mirrored.
    """

    def __init__(self, config: DegradationConfig | None = None) -> None:
        self.config = config or DegradationConfig()

    def sharpen(self, clip: np.ndarray) -> np.ndarray:
        """The sharpened GT (unsharp masking as configured; a float32 copy when disabled)."""
        u = self.config.unsharp
        clip = np.asarray(clip, dtype=np.float32)
        if not u.enabled:
            return clip.copy()
        return ops.unsharp_mask(clip, u.kernel_size, u.sigma, u.weight, u.threshold)

    def new_clip(self, rng: np.random.Generator, gt_size: tuple[int, int]) -> ClipDegrader:
        """Draw the per-clip degradation state for GT frames of size (H, W)."""
        return ClipDegrader(self.config, rng, gt_size)

    def __call__(
        self, clip: np.ndarray, rng: np.random.Generator, *, mirror: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Degrade one clip (mirrored in time first if asked); returns (lq, gt_sharpened)."""
        clip = np.asarray(clip)
        if clip.ndim != 4 or clip.shape[-1] != 3:
            raise RealBasicVSRError(f"expected a clip of shape (T, H, W, 3), got {tuple(clip.shape)}")
        sharp = self.sharpen(clip)
        frames = list(sharp)
        if mirror:  # the mirrored half reuses the same frame objects, so per-frame work can be shared
            frames = frames + frames[::-1]
        lq = self.new_clip(rng, clip.shape[1:3])(frames)
        return lq, (mirror_sequence(sharp) if mirror else sharp)
