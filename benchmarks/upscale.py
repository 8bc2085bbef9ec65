"""Upscaling throughput and memory: model-only vs end-to-end frames/s, and peak RSS vs clip length.

Runs on the CPU (or --device cuda). Weights: --model (a checkpoint or zoo name), else a randomly
initialised model of the released architecture (c64b20), which costs the same as the real one.

    python benchmarks/upscale.py                      # quick: 64x96 frames, clips of 24 and 96 frames
    python benchmarks/upscale.py --size 180x320 --lengths 96    # the default chunking on a 320x180 clip
    python benchmarks/upscale.py --size 96x160 --lengths 96 --rounds 3 --compare-reuse   # + the carried context
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

from realbasicvsr.inference import EngineOptions, OutputOptions, Upscaler, upscale_file
from realbasicvsr.io import open_sink
from realbasicvsr.models import ForwardState, RealBasicVSRNet


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
        "import re, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        f"r = subprocess.run({[sys.executable, '-m', 'realbasicvsr', 'upscale'] + args!r}, stderr=subprocess.PIPE, text=True)\n"
        "assert r.returncode == 0, r.stderr\n"
        "job = re.findall(r'frames, ([0-9.]+) s[;)]', r.stderr)[-1]\n"  # "wrote OUT (N frames, X s; scene cuts: ...)"
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
    ap.add_argument("--rounds", type=int, default=2, help="alternations of (whole clip, job) for the ratio")
    ap.add_argument("--compare-reuse", action="store_true",
                    help="each round also times the engine's chunks with and without the carried right context")
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

        def chunks(reuse: bool = True) -> float:
            """The engine's own loop, as upscale runs it, on frames in memory; ``reuse=False`` recomputes the
            cleaning and backward flows of each window's first frames (the previous window's right context)."""
            saved = ForwardState.reusable
            if not reuse:
                ForwardState.reusable = lambda self, lrs, ahead: 0
            try:
                t = time.perf_counter()
                for _ in up.stream(frames):
                    pass
                return n / (time.perf_counter() - t)
            finally:
                ForwardState.reusable = saved

        model_fps = chunks()  # the engine's chunks once (in every round too with --compare-reuse)
        whole = Upscaler(model, EngineOptions(device=a.device, chunk_frames=n))
        whole(frames[:2])  # warm-up
        clips = {}
        for length in lengths:
            clips[length] = tmp / f"clip{length}.mp4"
            write_clip(clips[length], moving_frames(length, h, w))

        def cli(length: int) -> tuple[float, float, float]:
            return run_cli([str(clips[length]), "-o", str(tmp / f"out{length}.mp4"), "--model", ckpt, "--device",
                            a.device, "--chunk-frames", str(a.chunk_frames), "--overlap", str(a.overlap),
                            "--no-progress", "--overwrite"])

        def in_process() -> float:
            """The same job through the Python API, in this warm process (the engine's first-call costs paid)."""
            t = time.perf_counter()
            upscale_file(clips[n], tmp / f"api{n}.mp4", up, OutputOptions(progress=False, overwrite=True))
            return n / (time.perf_counter() - t)

        # the job against the model on the whole clip: alternated, so each ratio compares measurements taken
        # a minute apart (this shared machine's speed drifts by 10-30% over several minutes)
        rounds = []
        for _ in range(a.rounds):
            t = time.perf_counter()
            whole(frames)
            whole_fps = n / (time.perf_counter() - t)
            chunk_fps, recompute_fps = (chunks(), chunks(reuse=False)) if a.compare_reuse else (model_fps, None)
            secs, job, rss = cli(n)
            api_fps = in_process()
            rounds.append({"whole_fps": whole_fps, "chunk_fps": chunk_fps, "recompute_fps": recompute_fps,
                           "job_fps": n / job, "fps": n / secs, "peak_rss_mb": rss, "api_fps": api_fps})
        rows = [(n, rounds[-1]["fps"], rounds[-1]["job_fps"], rounds[-1]["peak_rss_mb"])]
        for m in lengths[1:]:  # the memory table: peak RSS against the clip's length
            secs, job, rss = cli(m)
            rows.append((m, m / secs, m / job, rss))
    whole_fps, model_fps, api_fps = (float(np.median([r[k] for r in rounds])) for k in ("whole_fps", "chunk_fps", "api_fps"))
    recompute_fps = float(np.median([r["recompute_fps"] for r in rounds])) if a.compare_reuse else None
    ratios = [r["job_fps"] / r["whole_fps"] for r in rounds]
    api_ratios = [r["api_fps"] / r["whole_fps"] for r in rounds]
    results.update(model_fps=model_fps, whole_fps=whole_fps, recompute_fps=recompute_fps, api_fps=api_fps,
                   rounds=rounds, job_vs_whole=ratios, api_vs_whole=api_ratios,
                   end_to_end=[{"frames": n, "fps": f, "job_fps": j, "peak_rss_mb": r} for n, f, j, r in rows])
    print(f"RealBasicVSR upscaling, LR {h}x{w} -> {4 * h}x{4 * w}, {a.device}, {torch.get_num_threads()} threads, "
          f"chunks of {a.chunk_frames} + {a.overlap} context frames after each")
    print()
    print("| measurement | frames | frames/s | peak RSS (MB) |")
    print("|---|---:|---:|---:|")
    print(f"| model only, the whole clip at once (one window) | {lengths[0]} | {whole_fps:.2f} | |")
    print(f"| model only, the engine's chunks (frames already in memory) | {lengths[0]} | {model_fps:.2f} | |")
    if a.compare_reuse:
        print(f"| the same, recomputing each window's first frames (no carried context) | {lengths[0]} | {recompute_fps:.2f} | |")
    print(f"| end to end, warm process: `upscale_file` (Python API) | {lengths[0]} | {api_fps:.2f} | |")
    for n, fps, job_fps, rss in rows:
        print(f"| end to end: the job (decode + model + encode + mux) | {n} | {job_fps:.2f} | |")
        print(f"| end to end: the command (process start and model load too) | {n} | {fps:.2f} | {rss:.0f} |")
    for label, rs, key in (("the CLI job (fresh process)", ratios, "job_fps"), ("upscale_file (warm process)", api_ratios, "api_fps")):
        each = ", ".join(f"{100 * r:.0f}% ({x[key]:.2f} vs {x['whole_fps']:.2f})" for r, x in zip(rs, rounds))
        print(f"\n{label}: frames/s against the model on the whole clip at once, {lengths[0]} frames, measured one "
              f"after the other: median {100 * float(np.median(rs)):.0f}%; rounds: {each}")
    if a.compare_reuse:
        gains = [r["chunk_fps"] / r["recompute_fps"] for r in rounds]
        print(f"\ncarried right context: chunks {float(np.median(gains)):.3f}x as fast as recomputing it (median; "
              "rounds: " + ", ".join(f"{g:.3f}" for g in gains) + ")")
    if len(rows) > 1:
        print(f"\npeak RSS ratio {rows[-1][0]} vs {rows[0][0]} frames: {rows[-1][3] / rows[0][3]:.3f}")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
