"""Throughput of the degradation pipeline: clips/s for 15 -> 30 mirrored frames of 256x256 (the training
recipe), and the mean cost of every operation per clip (including clips where it was skipped).

Wall time and process CPU time (all threads) are both printed: on a shared machine the CPU time is the
steadier measure of cost.

    python benchmarks/degradations.py [--clips 20] [--threads 1] [--size 256] [--frames 15] [--baseline]

``--baseline`` also times, on the same frames and parameters, the per-frame OpenCV/NumPy loop the
reference uses for the three operations done differently here (unsharp masking with the full 51x51 2-D
filter on all 30 frames, ``cv2.filter2D`` per frame for the first blur, per-frame noise with
``np.unique`` for Poisson); resize, JPEG and video compression are the same per-frame calls in both.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np
import torch

from realbasicvsr.degradations import DegradationPipeline, mirror_sequence
from realbasicvsr.degradations import ops


def synthetic_clip(frames: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A textured clip with edges and gentle motion (JPEG/codec costs depend on content, so not noise)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = rng.random((size // 8, size // 8, 3)).astype(np.float32)
    import cv2

    tex = cv2.resize(base, (size, size), interpolation=cv2.INTER_CUBIC)
    out = []
    for t in range(frames):
        shift = np.roll(tex, t * 2, axis=1)
        waves = 0.5 + 0.25 * np.sin(2 * np.pi * (6 * xx + 3 * yy + 0.05 * t))[..., None]
        box = ((xx > 0.3 + 0.01 * t) & (xx < 0.6) & (yy > 0.2) & (yy < 0.7))[..., None] * 0.3
        out.append(np.clip(0.5 * shift + 0.5 * waves + box, 0, 1))
    return np.stack(out).astype(np.float32)


def baseline_unsharp(frames: np.ndarray) -> None:
    """The reference's unsharp masking: full 2-D Gaussian filter2D twice per frame, on all frames."""
    import cv2

    g = cv2.getGaussianKernel(51, 0)
    k2 = g @ g.T
    for img in frames:
        res = img - cv2.filter2D(img, -1, k2)
        mask = np.float32(np.abs(res) * 255 > 10)
        soft = cv2.filter2D(mask, -1, k2)
        _ = soft * np.clip(img + 0.5 * res, 0, 1) + (1 - soft) * img


def baseline_blur(frames: list, kernels: np.ndarray) -> None:
    import cv2

    for f, k in zip(frames, kernels):
        cv2.filter2D(f, -1, k)


def baseline_noise(frames: list, kind: str, gray: bool, levels: np.ndarray) -> None:
    """Per-frame noise as in the reference (legacy global NumPy RNG, float64 draws, np.unique per frame)."""
    import cv2

    for f, lv in zip(frames, levels):
        if kind == "gaussian":
            noise = np.float32(np.random.randn(*f.shape)) * lv / 255
            if gray:
                noise = noise[:, :, :1]
            _ = f + noise
        else:
            src = cv2.cvtColor(f[..., ::-1], cv2.COLOR_BGR2GRAY)[..., None] if gray else f
            q = np.clip((src * 255.0).round(), 0, 255) / 255.0
            vals = 2 ** np.ceil(np.log2(len(np.unique(q))))
            _ = f + (np.random.poisson(q * vals) / vals - q) * lv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="torch/OpenCV threads (DataLoader workers use 1)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=15, help="loaded frames; the clip is mirrored to twice that")
    ap.add_argument("--baseline", action="store_true", help="also time the reference's per-frame loops")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import cv2

    cv2.setNumThreads(args.threads)
    pipe = DegradationPipeline()
    rng = np.random.default_rng(0)
    clip = synthetic_clip(args.frames, args.size, rng)
    costs: dict[str, float] = defaultdict(float)
    cpu_costs: dict[str, float] = defaultdict(float)
    totals, cpu_totals = [], []
    pipe(clip, np.random.default_rng(12345), mirror=True)  # warm-up (codec and FFT plans)
    extra = [0.0, 0.0]  # baseline time inside the current clip, left out of the clip's total

    def timed(name, fn, *a):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*a)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        costs[name] += dt
        cpu_costs[name] += dc
        if "baseline" in name:
            extra[0] += dt
            extra[1] += dc
        return out

    for i in range(args.clips):
        t0, c0 = time.perf_counter(), time.process_time()
        extra[:] = [0.0, 0.0]
        gt = mirror_sequence(timed("unsharp masking (GT)", pipe.sharpen, clip))
        degrader = pipe.new_clip(np.random.default_rng(i), clip.shape[1:3])
        frames = list(gt)
        for name, op in degrader.stages:
            before = frames
            frames = timed(name, op, frames)
            if args.baseline and name == "first.blur":
                params = {k: np.array(v) for k, v in op.history.items()}
                timed("  baseline first.blur", baseline_blur, [np.array(f) for f in before], op.kernels(params))
            if args.baseline and name == "first.noise" and op.active:
                kind = op.choices["noise_type"]
                lv = np.array(op.history["sigma" if kind == "gaussian" else "scale"])
                timed("  baseline first.noise", baseline_noise, before, kind, op.choices["gray"], lv)
        if args.baseline:
            timed("  baseline unsharp", baseline_unsharp, mirror_sequence(clip))
        timed("quantize", ops.quantize, frames)
        totals.append(time.perf_counter() - t0 - extra[0])
        cpu_totals.append(time.process_time() - c0 - extra[1])
    wall, cpu = np.array(totals), np.array(cpu_totals)
    print(f"{args.clips} clips of {args.frames} -> {2 * args.frames} frames at {args.size}x{args.size}, "
          f"{args.threads} thread(s)")
    print(f"per clip wall: median {np.median(wall):.3f} s, mean {wall.mean():.3f} s, max {wall.max():.3f} s "
          f"-> {1 / wall.mean():.2f} clips/s")
    print(f"per clip CPU:  median {np.median(cpu):.3f} s, mean {cpu.mean():.3f} s, max {cpu.max():.3f} s "
          f"-> {1 / cpu.mean():.2f} clips/s per busy core")
    print("mean cost per clip by operation (wall / CPU):")
    for name, c in costs.items():
        print(f"  {name:24s} {1000 * c / args.clips:8.1f} ms {1000 * cpu_costs[name] / args.clips:8.1f} ms")


if __name__ == "__main__":
    main()
