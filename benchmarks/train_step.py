"""Seconds per training iteration and peak memory, next to the costs measured for
MMagic's implementation on a 2-core machine (fp32, the last column of ``SHAPES``).

Each shape runs in its own process (so peak RSS belongs to that shape): forward + backward + Adam with
the stage-1 losses (L1 pixel + L1 cleaning) through :func:`realbasicvsr.training.training_step`, on
random inputs, after one warm-up step. GPU numbers are added when CUDA is available.

    python benchmarks/train_step.py            # all shapes, CPU (and CUDA if present)
    python benchmarks/train_step.py --steps 5 --only smoke
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

# name: (mid, propagation blocks, cleaning blocks, T, LR side, batch, reference s/it on 2 CPU cores or None)
SHAPES = {
    "smoke": (8, 1, 1, 8, 16, 2, None),
    "c32b5_32px": (32, 5, 5, 10, 32, 2, 1.7),
    "c32b5_64px": (32, 5, 5, 10, 64, 2, 7.3),
    "c64b20_64px": (64, 20, 20, 10, 64, 1, 11.2),
}


def measure(name: str, device: str, steps: int) -> dict:
    import resource

    import torch

    from realbasicvsr.models import RealBasicVSRNet
    from realbasicvsr.training import TrainConfig, training_step
    from realbasicvsr.training.step import Models

    mid, nb, nc, t, side, batch, _ = SHAPES[name]
    torch.manual_seed(0)
    config = TrainConfig()  # the stage-1 losses
    g = RealBasicVSRNet(mid, nb, nc).to(device)
    models = Models(g, torch.optim.Adam([p for p in g.parameters() if p.requires_grad], lr=1e-4, betas=(0.9, 0.99)))
    lq = torch.rand(batch, t, 3, side, side, device=device)
    gt = torch.rand(batch, t, 3, side * 4, side * 4, device=device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def step() -> None:
        training_step(models, (lq, gt, gt), config)
        models.optimizer.step()
        models.optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    out = {"shape": name, "device": device, "s_per_it": times[len(times) // 2],
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
        out["gpu"] = torch.cuda.get_device_name()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=list(SHAPES))
    ap.add_argument("--child", nargs=2, metavar=("SHAPE", "DEVICE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.child[1], args.steps)))
        return
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.steps} steps after a warm-up")
    print("| shape | T | LR | batch | device | s/iter | reference s/iter (2 CPU cores) | peak RSS MB | peak GPU MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.only:
        for device in devices:
            res = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--child", name, device],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                print(f"| {name} | failed: {res.stderr.strip().splitlines()[-1]} |")
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            mid, nb, nc, t, side, batch, ref = SHAPES[name]
            ref_txt = f"{ref:.1f}" if ref and device == "cpu" else "-"
            gpu = f"{r['peak_gpu_mb']:.0f} ({r['gpu']})" if "peak_gpu_mb" in r else "-"
            print(f"| {name} (c{mid}, {nb}+{nc} blocks) | {t} | {side}x{side} | {batch} | {device} | "
                  f"{r['s_per_it']:.2f} | {ref_txt} | {r['peak_rss_mb']:.0f} | {gpu} |", flush=True)


if __name__ == "__main__":
    main()
