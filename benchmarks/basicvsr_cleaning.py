"""Quick check of realbasicvsr_basicvsr_x4 against bicubic x4 on degradations independent of training.

Clean GT clips (pans over the manifest's held-out ``eval`` photos and a window of its held-out video, none
of them seen in training) are degraded by chains our training pipeline does not contain:

* ``x264_crf35``: area x4 downscale, then H.264 (libx264, CRF 35, yuv420p) at the low-resolution size;
* ``jpeg_twice``: area x4 downscale, then JPEG quality 40, re-saved at quality 60;
* ``area``: area x4 downscale only (what BasicVSR alone handles; shows what the cleaning costs on clean input).

Scored: PSNR-Y (and SSIM-Y) of every frame against the GT, for bicubic, BasicSR's BasicVSR alone (the
cleaning made the identity), and the BasicVSR behind cleaning modules given as checkpoints (their
``image_cleaning.*`` tensors) or the zoo model itself::

    python benchmarks/basicvsr_cleaning.py --manifest data/lite/manifest.json \\
        --cleaning runs/basicvsr_cleaning_x4/checkpoints/iter_00000300.pth --zoo --alone

A quick, small check (4 clips of 8 frames, 48x48 input), not a full real-world benchmark.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import av
import cv2
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from realbasicvsr import load_model
from realbasicvsr.checkpoint import basicsr_basicvsr_to_realbasicvsr, generator_state_dict, read_checkpoint
from realbasicvsr.data import PanSequence, VideoSequence, read_manifest
from realbasicvsr.hub import basicsr_basicvsr_file
from realbasicvsr.io.colour import frame_to_rgb
from realbasicvsr.io.video import x264_options
from realbasicvsr.metrics import psnr, ssim
from realbasicvsr.models import RealBasicVSRNet

FRAMES, GT_SIDE, SCALE = 8, 192, 4


def clips(manifest: Path) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 frames T x H x W x 3) of the held-out photos (pans) and videos (a centre window)."""
    out = []
    for n, e in enumerate(e for e in read_manifest(manifest).files if e.split == "eval"):
        path = manifest.parent / e.path
        if e.kind == "video":
            seq = VideoSequence(path)
            frames = seq.read(range(seq.num_frames // 2, seq.num_frames // 2 + FRAMES))
            h, w = frames.shape[1:3]
            y, x = (h - GT_SIDE) // 2, (w - GT_SIDE) // 2
            out.append((path.stem, frames[:, y:y + GT_SIDE, x:x + GT_SIDE]))
        else:
            out.append((path.stem, PanSequence(str(path), seed=70_000 + n, size=GT_SIDE, num_frames=FRAMES).read(range(FRAMES))))
    return out


def area_x4(frames: np.ndarray) -> np.ndarray:
    return np.stack([cv2.resize(f, (f.shape[1] // SCALE, f.shape[0] // SCALE), interpolation=cv2.INTER_AREA)
                     for f in frames])


def x264(frames: np.ndarray, crf: int) -> np.ndarray:
    """Encode with libx264 at ``crf`` (yuv420p) and decode back: uint8 RGB in, uint8 RGB out."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": str(crf), **x264_options("libx264")}
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
        container.mux(stream.encode())
    buf.seek(0)
    with av.open(buf) as container:
        return np.stack([frame_to_rgb(fr) for fr in container.decode(video=0)])


def jpeg_twice(frames: np.ndarray, q1: int = 40, q2: int = 60) -> np.ndarray:
    def once(f: np.ndarray, q: int) -> np.ndarray:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
        return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    return np.stack([once(once(f, q1), q2) for f in frames])


RECIPES = {
    "x264_crf35": lambda gt: x264(area_x4(gt), 35),
    "jpeg_twice": lambda gt: jpeg_twice(area_x4(gt)),
    "area": area_x4,
}


def basicvsr_behind(cleaning: dict[str, torch.Tensor] | None, blocks: int = 3) -> RealBasicVSRNet:
    """BasicSR's BasicVSR_REDS4 behind ``cleaning`` (None: the identity, a zeroed last cleaning conv)."""
    path = basicsr_basicvsr_file("BasicVSR_REDS4.pth", needed_by="benchmark")
    model = RealBasicVSRNet(64, 30, blocks)
    own = model.state_dict()
    if cleaning is None:
        cleaning = {k: v for k, v in own.items() if k.startswith("image_cleaning.")}
        cleaning["image_cleaning.1.weight"] = torch.zeros_like(cleaning["image_cleaning.1.weight"])
        cleaning["image_cleaning.1.bias"] = torch.zeros_like(cleaning["image_cleaning.1.bias"])
    model.load_state_dict(basicsr_basicvsr_to_realbasicvsr(read_checkpoint(path)) | cleaning, strict=True)
    return model.eval()


def run(model, lq: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(lq).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
    with torch.no_grad():
        y = F.interpolate(x[0], scale_factor=SCALE, mode="bicubic", align_corners=False) if model is None else model(x)[0]
    return (y.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", type=Path, default=Path("data/lite/manifest.json"))
    ap.add_argument("--cleaning", nargs="*", default=[], help="training checkpoints whose cleaning to put in front")
    ap.add_argument("--zoo", action="store_true", help="also score the zoo model realbasicvsr_basicvsr_x4")
    ap.add_argument("--alone", action="store_true", help="also score BasicVSR alone (identity cleaning)")
    ap.add_argument("--recipes", nargs="*", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--save", type=Path, default=None,
                    help="write each composed model (BasicVSR behind a cleaning) to DIR/<label>.safetensors and stop, "
                         "e.g. for `realworld.py run --models DIR/<label>.safetensors`")
    args = ap.parse_args()
    torch.manual_seed(0)
    models: dict[str, object] = {"bicubic": None}
    if args.alone:
        models["basicvsr_alone"] = basicvsr_behind(None)
    for ckpt in args.cleaning:
        sd = generator_state_dict(read_checkpoint(ckpt), source=ckpt)
        cleaning = {k: v.float() for k, v in sd.items() if k.startswith("image_cleaning.")}
        blocks = len({k.split(".")[4] for k in cleaning if k.startswith("image_cleaning.0.main.2.")})
        models[Path(ckpt).stem] = basicvsr_behind(cleaning, blocks)
    if args.zoo:
        models["realbasicvsr_basicvsr_x4"] = load_model("realbasicvsr_basicvsr_x4")
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for label, model in models.items():
            if model is not None:
                save_file(model.state_dict(), str(args.save / f"{label}.safetensors"))
                print(f"wrote {args.save / f'{label}.safetensors'}")
        return
    data = clips(args.manifest)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for recipe in args.recipes:
        degrade = RECIPES[recipe]
        pairs = [(name, gt, degrade(gt)) for name, gt in data]
        for label, model in models.items():
            rows, t0 = [], time.perf_counter()
            for name, gt, lq in pairs:
                sr = run(model, lq)
                rows += [(psnr(s, g, channel="y"), ssim(s, g, channel="y")) for s, g in zip(sr, gt)]
            results.setdefault(recipe, {})[label] = {
                "psnr_y": float(np.mean([r[0] for r in rows])), "ssim_y": float(np.mean([r[1] for r in rows])),
                "s_per_frame": (time.perf_counter() - t0) / len(rows)}
            r = results[recipe][label]
            print(f"{recipe:11s} {label:28s} PSNR-Y {r['psnr_y']:6.2f}  SSIM-Y {r['ssim_y']:.4f}  "
                  f"{r['s_per_frame']:.2f} s/frame", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
