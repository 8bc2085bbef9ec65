"""Upscaling throughput and memory: model-only vs end-to-end frames/s, and peak RSS vs clip length.

Runs on the CPU (or --device cuda). Weights: --model (a checkpoint or zoo name), else a randomly
initialised model of the released architecture (c64b20), which costs the same as the real one.

    python benchmarks/upscale.py                      # quick: 64x96 frames, clips of 24 and 96 frames
    python benchmarks/upscale.py --size 180x320 --lengths 96    # the default chunking on a 320x180 clip
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from realbasicvsr.inference import EngineOptions, Upscaler
from realbasicvsr.io import open_sink
from realbasicvsr.models import RealBasicVSRNet


def moving_frames(n: int, h: int, w: int) -> list[np.ndarray]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for i in range(n):
        xs, ys = x + 2 * i, y + i
        img = np.stack([np.sin(xs / 5) * np.cos(ys / 7), np.sin((xs + ys) / 9), np.cos(xs / 11 - ys / 4)], -1)
        out.append(((img * 0.35 + 0.5) * 255).round().astype(np.uint8))
    return out


def write_clip(path: Path, frames: list[np.ndarray]) -> None:
    with open_sink(path, fps=Fraction(30000, 1001)) as sink:
        for f in frames:
            sink.write(f)


def model_checkpoint(arg: str | None, tmp: Path) -> str:
    if arg:
        return arg
    torch.manual_seed(0)
    path = tmp / "random_c64b20.pth"
    torch.save({"state_dict": {f"generator_ema.{k}": v for k, v in RealBasicVSRNet().state_dict().items()}}, path)
    return str(path)


def run_cli(args: list[str]) -> tuple[float, float, float]:
    """(seconds, the job's own seconds, peak RSS in MB) of one `realbasicvsr upscale` in a fresh process."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        f"r = subprocess.run({[sys.executable, '-m', 'realbasicvsr', 'upscale'] + args!r}, stderr=subprocess.PIPE, text=True)\n"
        "assert r.returncode == 0, r.stderr\n"
        "job = r.stderr.rsplit('frames, ', 1)[1].split(' s)')[0]\n"  # "wrote OUT (N frames, X s)"
        "print(time.perf_counter() - t, job, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[-3]), float(out[-2]), float(out[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None)
    ap.add_argument("--size", default="64x96", help="LR frame size HxW")
    ap.add_argument("--lengths", default="24,96", help="clip lengths for the memory table")
    ap.add_argument("--chunk-frames", type=int, default=24)
    ap.add_argument("--overlap", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    a = ap.parse_args()
    h, w = (int(v) for v in a.size.split("x"))
    lengths = [int(v) for v in a.lengths.split(",")]
    results: dict = {"size": [h, w], "threads": torch.get_num_threads(), "device": a.device}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ckpt = model_checkpoint(a.model, tmp)
        from realbasicvsr import load_model

        model = load_model(ckpt)
        up = Upscaler(model, EngineOptions(device=a.device, chunk_frames=a.chunk_frames, overlap=a.overlap))
        n = lengths[0]
        frames = moving_frames(n, h, w)
        up(frames[: a.chunk_frames])  # warm-up
        t = time.perf_counter()
        for _ in up.stream(frames):  # the engine's own loop, as upscale runs it
            pass
        model_fps = n / (time.perf_counter() - t)
        t = time.perf_counter()
        Upscaler(model, EngineOptions(device=a.device, chunk_frames=n))(frames)  # the whole clip at once
        whole_fps = n / (time.perf_counter() - t)
        rows = []
        for n in lengths:
            clip = tmp / f"clip{n}.mp4"
            write_clip(clip, moving_frames(n, h, w))
            secs, job, rss = run_cli([str(clip), "-o", str(tmp / f"out{n}.mp4"), "--model", ckpt, "--device", a.device,
                                      "--chunk-frames", str(a.chunk_frames), "--overlap", str(a.overlap), "--no-progress"])
            rows.append((n, n / secs, n / job, rss))
    results.update(model_fps=model_fps, whole_fps=whole_fps,
                   end_to_end=[{"frames": n, "fps": f, "job_fps": j, "peak_rss_mb": r} for n, f, j, r in rows])
    print(f"RealBasicVSR upscaling, LR {h}x{w} -> {4 * h}x{4 * w}, {a.device}, {torch.get_num_threads()} threads, "
          f"chunks of {a.chunk_frames} + {a.overlap} context frames after each")
    print()
    print("| measurement | frames | frames/s | peak RSS (MB) |")
    print("|---|---:|---:|---:|")
    print(f"| model only, the whole clip at once (one window) | {lengths[0]} | {whole_fps:.2f} | |")
    print(f"| model only, the engine's chunks (frames already in memory) | {lengths[0]} | {model_fps:.2f} | |")
    for n, fps, job_fps, rss in rows:
        print(f"| end to end: the job (decode + model + encode + mux) | {n} | {job_fps:.2f} "
              f"({100 * job_fps / whole_fps:.0f}% of the whole clip at once) | |")
        print(f"| end to end: the command (process start and model load too) | {n} | {fps:.2f} | {rss:.0f} |")
    if len(rows) > 1:
        print(f"\npeak RSS ratio {rows[-1][0]} vs {rows[0][0]} frames: {rows[-1][3] / rows[0][3]:.3f}")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
