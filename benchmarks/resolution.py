"""Engine frames/s against input resolution, for each precision and model, in one run, plotted as SVG.

    python benchmarks/resolution.py --json runs/resolution.json --svg docs/fps_vs_resolution.svg
    python benchmarks/resolution.py --sizes 72x128,180x320 --models realbasicvsr_lite_x4   # a quick look

Weights: random for c64b20 (the cost does not depend on them), the bundled ones for the lite models. Each point
is the engine (``Upscaler``: channels_last, fused CPU convs, inference mode) on a 5-frame moving test pattern,
timed after one warm-up call. The SVG is written by hand, so the benchmark needs nothing beyond the package.
"""

from __future__ import annotations

import argparse
import json
import math

import torch

from model import build, timed  # benchmarks/model.py
from realbasicvsr.inference import EngineOptions, Upscaler
from realbasicvsr.device import auto_precision
from upscale import moving_frames  # benchmarks/upscale.py

COLOURS = {"c64b20": "#c0392b", "realbasicvsr_lite_x4": "#2471a3", "realbasicvsr_lite_x2": "#239b56"}


def measure(models: list[str], sizes: list[tuple[int, int]], precisions: list[str], frames: int) -> list[dict]:
    rows = []
    for name in models:
        model = build(name)
        for h, w in sizes:
            clip = moving_frames(frames, h, w)
            for precision in precisions:
                up = Upscaler(model, EngineOptions(device="cpu", precision=precision, chunk_frames=frames))
                seconds = timed(lambda: up(clip)) / frames
                rows.append({"model": name, "size": f"{h}x{w}", "lr_pixels": h * w, "precision": precision,
                             "s_per_frame": seconds, "fps": 1 / seconds})
                print(f"{name:22s} {h}x{w:<5d} {precision:5s} {1 / seconds:8.2f} frames/s", flush=True)
    return rows


def svg(rows: list[dict], title: str) -> str:
    """A log-scale line plot of frames/s against the input's megapixels, one line per model and precision."""
    width, height, left, right, top, bottom = 720, 440, 70, 200, 40, 60
    xs = [r["lr_pixels"] / 1e6 for r in rows]
    x_max = max(xs) * 1.05
    lo = math.floor(math.log10(min(r["fps"] for r in rows)))
    hi = math.ceil(math.log10(max(r["fps"] for r in rows)))
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + plot_w * x / x_max

    def py(fps: float) -> float:
        return top + plot_h * (hi - math.log10(fps)) / (hi - lo)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">{title}</text>']
    for e in range(lo, hi + 1):  # decades
        y = py(10.0**e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{10.0**e:g}</text>')
    step = 0.05 if x_max <= 0.3 else 0.1
    for i in range(int(x_max / step) + 1):
        x = px(i * step)
        out.append(f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 5}" stroke="black"/>')
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 20}" text-anchor="middle">{i * step:.2f}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="black"/>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">input megapixels per frame '
               f'(output: 16x for x4)</text>')
    out.append(f'<text transform="translate(18 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
               f'written frames/s (log scale)</text>')
    lines = sorted({(r["model"], r["precision"]) for r in rows})
    for k, (name, precision) in enumerate(lines):
        pts = sorted((r["lr_pixels"] / 1e6, r["fps"]) for r in rows if (r["model"], r["precision"]) == (name, precision))
        colour = COLOURS.get(name, "#555")
        dash = "" if precision == "fp32" else ' stroke-dasharray="6 4"'
        path = " ".join(f"{px(x):.1f},{py(f):.1f}" for x, f in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        out += [f'<circle cx="{px(x):.1f}" cy="{py(f):.1f}" r="3" fill="{colour}"/>' for x, f in pts]
        ly = top + 14 + 20 * k
        out.append(f'<line x1="{left + plot_w + 12}" y1="{ly - 4}" x2="{left + plot_w + 40}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{left + plot_w + 46}" y="{ly}">{name.replace("realbasicvsr_", "")} {precision}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="c64b20,realbasicvsr_lite_x4")
    ap.add_argument("--sizes", default="72x128,108x192,144x256,180x320,270x480")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--svg", default=None)
    a = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    precisions = ["fp32"]
    auto = auto_precision(torch.device("cpu"))
    if auto != "fp32":
        precisions.append(auto)
    rows = measure(a.models.split(","), sizes, precisions, a.frames)
    title = f"realbasicvsr engine on this CPU ({torch.get_num_threads()} threads, torch {torch.__version__})"
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    if a.svg:
        with open(a.svg, "w") as f:
            f.write(svg(rows, title))


if __name__ == "__main__":
    main()
