"""Throughput of the degradation pipeline: clips/s for 15 -> 30 mirrored frames of 256x256 (the training
recipe), and the mean cost of every operation per clip (including clips where it was skipped).

Wall time and process CPU time (all threads) are both printed: on a shared machine the CPU time is the
steadier measure of cost.

    python benchmarks/degradations.py [--clips 20] [--threads 1] [--size 256] [--frames 15]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="torch/OpenCV threads (DataLoader workers use 1)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--frames", type=int, default=15, help="loaded frames; the clip is mirrored to twice that")
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
    def timed(name, fn, *a):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*a)
        costs[name] += time.perf_counter() - t
        cpu_costs[name] += time.process_time() - c
        return out

    for i in range(args.clips):
        t0, c0 = time.perf_counter(), time.process_time()
        gt = mirror_sequence(timed("unsharp masking (GT)", pipe.sharpen, clip))
        degrader = pipe.new_clip(np.random.default_rng(i), clip.shape[1:3])
        frames = list(gt)
        for name, op in degrader.stages:
            frames = timed(name, op, frames)
        timed("quantize", ops.quantize, frames)
        totals.append(time.perf_counter() - t0)
        cpu_totals.append(time.process_time() - c0)
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
