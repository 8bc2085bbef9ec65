"""Model throughput on this machine: the kernel ceiling, the reference-style forward, the engine in fp32 and
in auto precision, side by side in one run (ratios are what matter; absolute numbers move with the load).

    python benchmarks/model.py                          # c64b20 + lite x4, 96x160 and 180x320 LR, 5 frames
    python benchmarks/model.py --sizes 96x160 --models c64b20 --frames 3 --json out.json

Weights: random for c64b20 (the cost does not depend on them), the bundled ones for the lite models.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from realbasicvsr import load_model
from realbasicvsr.checkpoint import infer_config
from realbasicvsr.inference import EngineOptions, Upscaler
from realbasicvsr.device import auto_precision
from realbasicvsr.cost import gflops_per_frame
from realbasicvsr.models import ArchConfig, blocks
from realbasicvsr.timing import time_calls
from upscale import moving_frames  # benchmarks/upscale.py: the same moving test pattern


def timed(fn, min_seconds: float = 1.0) -> float:
    """Seconds per call after a warm-up call, repeated until ``min_seconds`` have passed."""
    return time_calls(fn, min_seconds, max_calls=1_000_000).per_call


def conv_ceiling(h: int, w: int, frames: int, dtype: torch.dtype) -> float:
    """GFLOP/s of one 64->64 3x3 convolution over ``frames`` feature maps, channels_last (the kernel limit;
    ``frames`` 1 is the shape of the recurrent propagation, which runs frame by frame and dominates)."""
    x = torch.rand(frames, 64, h, w).to(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(64, 64, 3, 1, 1).to(memory_format=torch.channels_last).eval()
    ctx = torch.autocast("cpu", dtype=dtype) if dtype != torch.float32 else torch.no_grad()

    def run():
        with torch.no_grad(), ctx:
            conv(x)

    return 2 * 9 * 64 * 64 * h * w * frames / timed(run) / 1e9


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def build(name: str):
    if name == "c64b20":
        torch.manual_seed(0)
        return ArchConfig().build().eval()
    return load_model(name)


def bench(name: str, h: int, w: int, frames: int) -> dict:
    model = build(name)
    arch = infer_config(model.state_dict())
    gf = gflops_per_frame(arch, h, w, frames)
    clip = moving_frames(frames, h, w)
    lqs = torch.from_numpy(np.stack(clip)).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)

    def reference():  # the reference's structure: plain fp32 ops, default memory format, whole clip at once
        saved = blocks.FUSE_ON_CPU, model.basicvsr.head_strip_pixels, model.clean_batch_pixels
        blocks.FUSE_ON_CPU, model.basicvsr.head_strip_pixels, model.clean_batch_pixels = False, None, None
        try:
            with torch.no_grad():
                model(lqs)
        finally:
            blocks.FUSE_ON_CPU, model.basicvsr.head_strip_pixels, model.clean_batch_pixels = saved

    row = {"model": name, "size": f"{h}x{w}", "frames": frames, "gflop_per_frame": gf}
    row["reference_fp32_s"] = timed(reference) / frames
    outputs = {}
    for precision in dict.fromkeys(("fp32", auto_precision(torch.device("cpu")))):  # once each, fp32 first
        up = Upscaler(model, EngineOptions(device="cpu", precision=precision, chunk_frames=frames))
        outputs[precision] = np.stack(up(clip))
        if precision != "fp32":
            row[f"engine_{precision}_s"] = timed(lambda: up(clip)) / frames
            continue
        # fp32 against the kernel ceiling: alternate the two, 3 rounds, so each ratio compares measurements
        # taken seconds apart (the ceiling alone drifts by 20-30% over minutes on this shared machine)
        rounds = []
        for _ in range(3):
            ceiling = conv_ceiling(h, w, 1, torch.float32)
            seconds = timed(lambda: up(clip)) / frames
            rounds.append((seconds, ceiling, gf / seconds / ceiling))
        row["engine_fp32_s"], row["ceiling_fp32_beside"], row["fp32_of_ceiling"] = (
            float(np.median([r[k] for r in rounds])) for k in range(3))
        row["fp32_of_ceiling_rounds"] = [r[2] for r in rounds]
    auto = auto_precision(torch.device("cpu"))
    row["auto"] = auto
    row["auto_psnr_vs_fp32"] = psnr(outputs[auto], outputs["fp32"])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="c64b20,realbasicvsr_lite_x4")
    ap.add_argument("--sizes", default="96x160,180x320")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    auto = auto_precision(torch.device("cpu"))
    low = torch.bfloat16 if auto == "bf16" else torch.float32

    def ceilings_now() -> dict:
        return {(h, w): {"fp32": conv_ceiling(h, w, 1, torch.float32), auto: conv_ceiling(h, w, 1, low),
                         "fp32_batch": conv_ceiling(h, w, a.frames, torch.float32),
                         f"{auto}_batch": conv_ceiling(h, w, a.frames, low)}
                for h, w in sizes}

    before = ceilings_now()
    rows = [bench(m, h, w, a.frames) for m in a.models.split(",") for h, w in sizes]
    after = ceilings_now()  # the kernel ceiling drifts with the machine's load: keep the higher measurement
    ceilings = {k: {kind: max(v, after[k][kind]) for kind, v in c.items()} for k, c in before.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, auto precision on this CPU: {auto}")
    print()
    print("Kernel ceilings: the higher of two measurements, before and after the models.")
    print()
    print(f"| size | single 64->64 3x3 conv on one frame, fp32 | same, {auto} | on {a.frames} frames at once, fp32 | "
          f"same, {auto} |")
    print("|---|---:|---:|---:|---:|")
    for (h, w), c in ceilings.items():
        print(f"| {h}x{w} | {c['fp32']:.0f} GFLOP/s | {c[auto]:.0f} GFLOP/s | {c['fp32_batch']:.0f} GFLOP/s | "
              f"{c[f'{auto}_batch']:.0f} GFLOP/s |")
    print()
    print(f"| model | LR size | GFLOP/frame | reference-style fp32 s/frame | engine fp32 s/frame (GFLOP/s) | "
          f"% of the one-frame conv measured beside it (3 rounds) | % of the table's ceiling | "
          f"engine {auto} s/frame (x fp32) | "
          f"{auto} vs fp32 PSNR |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        h, w = (int(v) for v in r["size"].split("x"))
        gfs = r["gflop_per_frame"] / r["engine_fp32_s"]
        each = ", ".join(f"{100 * v:.0f}" for v in r["fp32_of_ceiling_rounds"])
        print(f"| {r['model']} | {r['size']} | {r['gflop_per_frame']:.0f} | {r['reference_fp32_s']:.3f} | "
              f"{r['engine_fp32_s']:.3f} ({gfs:.0f}) | {100 * r['fp32_of_ceiling']:.0f}% of "
              f"{r['ceiling_fp32_beside']:.0f} GFLOP/s ({each}) | {100 * gfs / ceilings[(h, w)]['fp32']:.0f}% | "
              f"{r[f'engine_{auto}_s']:.3f} ({r['engine_fp32_s'] / r[f'engine_{auto}_s']:.2f}x) | "
              f"{r['auto_psnr_vs_fp32']:.1f} dB |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"ceilings": {f"{h}x{w}": c for (h, w), c in ceilings.items()}, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
