"""The model side of upscaling: uint8 frames in, uint8 frames out, on any device and precision."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import RealBasicVSRError
from ..models import RealBasicVSRNet
from .tiles import run_tiled

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an unavailable explicit choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise RealBasicVSRError(f"--device {name!r} is not a device (use auto, cpu, cuda, cuda:N or mps)") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RealBasicVSRError(f"--device {name}: CUDA is not available on this machine (try --device cpu)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RealBasicVSRError(f"--device {name}: Apple MPS is not available on this machine")
    return dev


def output_size(width: int, height: int, outscale: float, even: bool = False) -> tuple[int, int]:
    """Final (W, H) for ``outscale``; ``even`` rounds to even sizes (what 4:2:0 video needs)."""
    w, h = max(1, int(round(width * outscale))), max(1, int(round(height * outscale)))
    if even:
        w, h = max(2, w - w % 2), max(2, h - h % 2)
    return w, h


@dataclass
class EngineOptions:
    device: str = "auto"
    precision: str = "auto"  # auto = fp16 on CUDA, fp32 elsewhere
    tile: int = 0  # 0 = no spatial tiling; else tile size in input pixels
    tile_overlap: int = 16
    outscale: float | None = None  # None = the model's own factor (model.upscale); else resized from it
    even_size: bool = False


class Upscaler:
    """Runs a RealBasicVSRNet over a window of frames: list of uint8 (H, W, 3) RGB -> the same, upscaled.

    The model works at its own factor (``model.upscale``); an ``outscale`` other than that resizes its output.
    """

    def __init__(self, model: RealBasicVSRNet, options: EngineOptions | None = None) -> None:
        self.options = opts = options or EngineOptions()
        self.device = resolve_device(opts.device)
        precision = opts.precision
        if precision == "auto":
            precision = "fp16" if self.device.type == "cuda" else "fp32"
        if precision not in PRECISIONS:
            raise RealBasicVSRError(f"unknown precision {precision!r}; choose fp32, fp16 or bf16")
        if precision == "fp16" and self.device.type == "cpu":
            raise RealBasicVSRError("fp16 is not supported on the CPU; use fp32 or bf16")
        self.dtype = PRECISIONS[precision]
        self.precision = precision
        self.model = model.eval().to(self.device)
        self.scale = model.upscale
        self.outscale = float(self.scale if opts.outscale is None else opts.outscale)
        if self.device.type in ("cuda", "cpu"):  # faster convolutions (~20% on a 2-core CPU for c64b20)
            self.model = self.model.to(memory_format=torch.channels_last)
        if opts.tile and opts.tile < 16:
            raise RealBasicVSRError("--tile must be 0 (off) or at least 16 pixels")

    def _autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _forward(self, lqs: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            return self.model(lqs).float()

    @torch.inference_mode()
    def upscale_tensor(self, lqs: torch.Tensor) -> torch.Tensor:
        """(1, T, 3, H, W) float in [0, 1] -> (1, T, 3, H', W') float, clamped to [0, 1]."""
        opts = self.options
        if opts.tile:
            out = run_tiled(self._forward, lqs, opts.tile, opts.tile_overlap, scale=self.scale)
        else:
            out = self._forward(lqs)
        h, w = lqs.shape[-2:]
        ow, oh = output_size(w, h, self.outscale, opts.even_size)
        if (oh, ow) != tuple(out.shape[-2:]):
            t = out.shape[1]
            out = F.interpolate(out.flatten(0, 1), size=(oh, ow), mode="bicubic", antialias=True, align_corners=False)
            out = out.unflatten(0, (1, t))
        return out.clamp_(0.0, 1.0)

    @torch.inference_mode()
    def __call__(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        arr = np.stack(frames)  # (T, H, W, 3) uint8
        lqs = torch.from_numpy(arr).to(self.device).permute(0, 3, 1, 2).float().div_(255.0).unsqueeze(0)
        try:
            out = self.upscale_tensor(lqs)
        except torch.OutOfMemoryError as e:
            raise RealBasicVSRError(
                "out of GPU memory: lower --chunk-frames or use --tile (e.g. --tile 256)"
            ) from e
        out = out[0].mul_(255.0).round_().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        return list(out)
