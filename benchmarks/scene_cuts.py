"""Scene cuts: what propagating across a cut costs, and how often the detector cuts where it should not.

Needs the real clips of ``benchmarks/realworld.py fetch`` (``data/realworld/sources``)::

    PYTHONPATH=src python benchmarks/scene_cuts.py [--sources data/realworld/sources] [--model realbasicvsr_lite_x4]

1. **Harm.** A clip of two unrelated real shots (crops of city.mpg then cockatoo.mp4) is upscaled with
   ``--scene-cuts off`` and ``auto``, and each shot alone; the PSNR of the frames next to the cut against
   the shots upscaled alone is the harm of propagating across the cut (``auto``: identical, inf dB).
2. **False cuts.** The detector over real clips, over fades to black made from them, and over clips with
   flashes (two frames brightened) put in: the cuts it finds, per clip.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from realbasicvsr import load_model
from realbasicvsr.inference import EngineOptions, Upscaler
from realbasicvsr.inference.pipe import upscale_frames
from realbasicvsr.inference.scenes import find_cuts
from realbasicvsr.io import open_source


def read(path: Path, count: int | None = None, start: int = 0, step: int = 1) -> list[np.ndarray]:
    """Frames ``start``.. of a clip, each ``step``-th pixel (count None: all)."""
    out = []
    with open_source(path) as src:
        for i, f in enumerate(src):
            if i >= start:
                out.append(np.ascontiguousarray(f[::step, ::step]))
            if count is not None and len(out) == count:
                break
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def harm(sources: Path, model: str, n: int) -> None:
    a = [f[100:164, 200:296] for f in read(sources / "city.mpg", n, start=60)]
    b = [f[300:364, 600:696] for f in read(sources / "cockatoo.mp4", n, start=60)]
    up = Upscaler(load_model(model), EngineOptions(device="cpu", precision="fp32", chunk_frames=24, overlap=8))
    alone = [*upscale_frames(up, a, "off"), *upscale_frames(up, b, "off")]
    print(f"two shots of {n} frames (96x64 crops of city.mpg, then cockatoo.mp4), {model}, fp32")
    for mode in ("off", "auto"):
        out = list(upscale_frames(up, a + b, mode))
        near = [psnr(out[i], alone[i]) for i in range(n - 3, n + 3)]
        worst = min(psnr(x, y) for x, y in zip(out, alone))
        print(f"  --scene-cuts {mode:4s}: PSNR against the shots alone, frames {n - 3}..{n + 2}: "
              + ", ".join(f"{p:.1f}" for p in near) + f" dB; worst frame {worst:.1f} dB")


def false_cuts(sources: Path) -> None:
    clips = {name: read(sources / name, step=2) for name in
             ("city.mpg", "cockatoo.mp4", "vtest.avi", "phone.mp4", "tree.avi", "realshort.mp4")}
    clips["demo_qcif.mp4"] = read(sources / "demo_qcif.mp4")
    total = 0
    print("detector (cuts found; city.mpg has one cut at 116 and demo_qcif.mp4 is a music video with many, "
          "checked by eye):")
    for name, frames in clips.items():
        cuts = find_cuts(frames)
        total += len(frames)
        print(f"  {name:14s} {len(frames):5d} frames: {len(cuts)} cuts {cuts[:20]}")
    for name in ("city.mpg", "cockatoo.mp4", "vtest.avi", "tree.avi"):
        frames = clips[name][:120]
        for length in (3, 10, 30):
            faded = [np.round(f * (1 - min(1.0, max(0.0, (i - 40) / length)))).astype(np.uint8)
                     for i, f in enumerate(frames)]
            print(f"  fade to black over {length:2d} frames, {name}: cuts {find_cuts(faded)}")
        flashed = [np.clip(f.astype(int) + 140, 0, 255).astype(np.uint8) if i in (50, 51) else f
                   for i, f in enumerate(frames)]
        print(f"  flash (2 frames +140), {name}: cuts {find_cuts(flashed)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sources", type=Path, default=Path("data/realworld/sources"))
    p.add_argument("--model", default="realbasicvsr_lite_x4")
    p.add_argument("--frames", type=int, default=16, help="frames per shot in the harm measurement")
    p.add_argument("--skip-harm", action="store_true")
    args = p.parse_args()
    false_cuts(args.sources)
    if not args.skip_harm:
        harm(args.sources, args.model, args.frames)


if __name__ == "__main__":
    main()
