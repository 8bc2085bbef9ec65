"""Where a model's invented texture comes from: cleaning or propagation, one frame or the clip, the input's
compression or the network itself (MODEL_CARD.md, "Diagnosing the lite models' invented texture").

    python benchmarks/hatch_diagnosis.py CLIP [--start N] [--frames T] [--models realbasicvsr_lite_x2 ...]
    python benchmarks/hatch_diagnosis.py --paired data/realworld/sets/reported/paired   # brightness bias

Every score is ``metrics.texture.invented_texture`` against the bicubic upscale of the same input (1.0 = as
flat as bicubic); fp32 on the CPU, the whole window at once.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from realbasicvsr.checkpoint import load_model
from realbasicvsr.io import list_frame_files, open_source
from realbasicvsr.io.frames import read_frames
from realbasicvsr.metrics.texture import invented_texture


def read_clip(path: str, start: int, count: int) -> torch.Tensor:
    """Frames ``start .. start+count-1`` as (1, T, 3, H, W) in [0, 1]."""
    with open_source(path) as src:
        frames = list(itertools.islice(src, start, start + count))
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)


def to_uint8(x: torch.Tensor) -> list[np.ndarray]:
    """(1, T, 3, H, W) in [0, 1] -> uint8 RGB frames."""
    return list(x[0].clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).numpy())


def bicubic(x: torch.Tensor, scale: int) -> torch.Tensor:
    return F.interpolate(x.flatten(0, 1), scale_factor=scale, mode="bicubic", align_corners=False).unflatten(0, x.shape[:2])


def scores(out: torch.Tensor, base: torch.Tensor) -> list[float]:
    """Invented texture of each frame of ``out`` against ``base``."""
    return [invented_texture(o, b) for o, b in zip(to_uint8(out), to_uint8(base))]


def phase_bias(model, scale: int, frames: int, level: float) -> tuple[float, float]:
    """(min, max) mean offset in grey levels of the scale x scale output phases on a flat grey clip's last frame."""
    flat = torch.full((1, frames, 3, 48, 48), level)
    out = model(flat)[0, -1].mean(0)[8 * scale:-8 * scale, 8 * scale:-8 * scale]
    phases = out.unfold(0, scale, scale).unfold(1, scale, scale).mean((0, 1)) * 255 - level * 255
    return float(phases.min()), float(phases.max())


@torch.inference_mode()
def diagnose(name: str, lq: torch.Tensor) -> None:
    model = load_model(name).eval()
    s = model.upscale
    base = bicubic(lq, s)
    out, cleaned = model(lq, return_lqs=True)
    print(f"\n{name} (x{s}), {lq.shape[1]} frames of {lq.shape[-1]}x{lq.shape[-2]}")
    print(f"  clip, per frame:            {' '.join(f'{v:.2f}' for v in scores(out, base))}")
    print(f"  bicubic of the cleaned LQ:  {np.nanmean(scores(bicubic(cleaned, s), base)):.2f} (the cleaning alone)")
    one = [float(np.nanmean(scores(model(lq[:, t:t + 1]), base[:, t:t + 1]))) for t in range(lq.shape[1])]
    print(f"  each frame alone:           {' '.join(f'{v:.2f}' for v in one)}")
    blurred = torch.stack([torch.from_numpy(cv2.GaussianBlur(f.permute(1, 2, 0).numpy(), (0, 0), 1.0)).permute(2, 0, 1)
                           for f in lq[0]]).unsqueeze(0)
    print(f"  input blurred (sigma 1):    {np.nanmean(scores(model(blurred), bicubic(blurred, s))):.2f}")
    h, w = lq.shape[-2:]
    smooth = cv2.resize(np.random.default_rng(0).random((6, 8, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    clip = torch.from_numpy(np.stack([smooth.clip(0, 1)] * lq.shape[1])).permute(0, 3, 1, 2).unsqueeze(0)
    print(f"  smooth synthetic clip:      {np.nanmean(scores(model(clip), bicubic(clip, s))):.2f}")
    for level in (0.25, 0.5, 0.75):
        lo, hi = phase_bias(model, s, lq.shape[1], level)
        print(f"  flat grey {level:.2f}: output phases {lo:+.2f} .. {hi:+.2f} grey levels off the input")


def luma(rgb: np.ndarray) -> np.ndarray:
    """MATLAB's rgb2ycbcr Y (16..235) of uint8 or 0..255 float RGB."""
    return 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255


@torch.inference_mode()
def brightness_bias(root: Path, names: list[str]) -> None:
    """Mean Y(out) - Y(GT) on the real-world benchmark's paired sets (ROOT/x{s}/{recipe}/{clip}, ROOT/x{s}/gt/{clip}),
    and the PSNR-Y each model would have with that offset removed."""
    for name in names:
        model = load_model(name).eval()
        s = model.upscale
        for recipe_dir in sorted(p for p in (root / f"x{s}").iterdir() if p.name != "gt"):
            for clip_dir in sorted(recipe_dir.iterdir()):
                lq_files, gt_files = list_frame_files(clip_dir), list_frame_files(root / f"x{s}" / "gt" / clip_dir.name)
                lq = read_frames(lq_files, range(len(lq_files)))
                gt = luma(read_frames(gt_files, range(len(gt_files))).astype(np.float64))
                out = model(torch.from_numpy(lq).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)).clamp(0, 1)
                y = luma(out[0].permute(0, 2, 3, 1).double().numpy() * 255)
                bias = float((y - gt).mean())
                psnr = [10 * np.log10(255**2 / np.mean((y - b - gt) ** 2)) for b in (0.0, bias)]
                print(f"{name} {recipe_dir.name:7s} {clip_dir.name:8s} Y bias {bias:+.2f}; PSNR-Y {psnr[0]:.2f} "
                      f"-> {psnr[1]:.2f} without it")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", nargs="?")
    ap.add_argument("--paired", type=Path, help="the real-world benchmark's paired sets: measure the brightness bias")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--models", nargs="+", default=["realbasicvsr_lite_x4", "realbasicvsr_lite_x2"])
    args = ap.parse_args()
    if args.paired:
        brightness_bias(args.paired, args.models)
        return
    if not args.clip:
        ap.error("give a CLIP (or --paired ROOT)")
    lq = read_clip(args.clip, args.start, args.frames)
    for name in args.models:
        diagnose(name, lq)


if __name__ == "__main__":
    main()
