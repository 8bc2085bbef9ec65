"""Quick check: a whole lite model as the cleaning in front of BasicSR's BasicVSR, on the real-world pairs.

The cleaning of ``realbasicvsr_basicvsr_x4`` is a per-frame module; this asks what a temporal one would
give. Each paired clip of a split is upscaled x4 by a first model, brought back to the input size by
antialiased bicubic (what BasicSR's BasicVSR REDS4 weights were trained to take) or area averaging, and
upscaled again by BasicVSR alone (a file written by ``basicvsr_cleaning.py --alone --save``); PSNR-Y
against the GT per recipe, the first model and bicubic beside it::

    python benchmarks/basicvsr_behind_lite.py --split validation --first realbasicvsr_lite_x4 \\
        --basicvsr bv/basicvsr_alone.safetensors

Validation split only: a quick experiment, not a reported number.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from realbasicvsr import load_model
from realbasicvsr.evaluation import evaluate
from realbasicvsr.inference import EngineOptions, Upscaler
from realbasicvsr.io.clips import find_clips, read_clip
from realbasicvsr.losses import cleaning_target

from realworld import RECIPES, _write_clip
from lite_quality import _bicubic


def down4(frames: list[np.ndarray], mode: str) -> list[np.ndarray]:
    """uint8 RGB frames shrunk x4 the way the cleaning loss makes its target ("bicubic" or "area")."""
    t = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float()[None] / 255
    small = cleaning_target(t, 4, mode)[0]
    return list((small.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("data/realworld"))
    ap.add_argument("--split", default="validation", choices=["validation"])
    ap.add_argument("--first", default="realbasicvsr_lite_x4", help="an x4 model: zoo name or file")
    ap.add_argument("--basicvsr", required=True, help="BasicVSR alone (identity cleaning), a model file")
    ap.add_argument("--out", type=Path, default=Path("data/realworld/out/behind_lite"))
    args = ap.parse_args()
    sets = args.cache / "sets" / args.split / "paired" / "x4"
    opts = EngineOptions(device="cpu", precision="fp32")
    first, basicvsr = Upscaler(load_model(args.first), opts), Upscaler(load_model(args.basicvsr), opts)
    for recipe in RECIPES:
        for name, path in find_clips(sets / recipe):
            lq = [f for _, f in read_clip(path, None)]
            sr = first(lq)
            _write_clip(args.out / "bicubic" / recipe / name, _bicubic(lq, 4))
            _write_clip(args.out / "first" / recipe / name, sr)
            for mode in ("bicubic", "area"):
                _write_clip(args.out / f"then_basicvsr_{mode}" / recipe / name, basicvsr(down4(sr, mode)))
    base = None
    for model in ("bicubic", "first", "then_basicvsr_bicubic", "then_basicvsr_area"):
        per = {r: evaluate([args.out / model / r], ["psnr"], ref=sets / "gt", convention="paper").mean["psnr"]
               for r in RECIPES}
        mean = float(np.mean(list(per.values())))
        base = mean if base is None else base
        print(f"{model:24s} " + " ".join(f"{r} {v:.2f}" for r, v in per.items()) + f"  mean {mean:.2f} ({mean - base:+.2f})")


if __name__ == "__main__":
    main()
