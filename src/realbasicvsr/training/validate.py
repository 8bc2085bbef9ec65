"""Validation during training: upscale a held-out set with the EMA generator, score it, save crops.

Paired sets (``lq/`` + ``gt/`` sub-folders, e.g. UDM10 or REDS4) give PSNR/SSIM on Y; an LQ-only set
gives NIQE on Y (the paper's convention); ``val.niqe`` adds NIQE to a paired set's scores. Each run writes
a side-by-side PNG (LQ | output | GT) of the first clip's middle frame to ``val/iter_<8-digit
iteration>.png`` in the work folder.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from ..evaluation import GT_FOLDERS, LQ_FOLDERS, find_subfolder, metric_specs, pair_references, score_frame
from ..io.clips import find_clips, read_clip
from ..io import write_image
from .config import TrainConfig


class Validator:
    def __init__(self, config: TrainConfig, out_dir: Path, device: torch.device) -> None:
        v = config.val
        self.config, self.out_dir, self.device = config, out_dir, device
        root = Path(v.root)
        if v.paired:
            lq_root = find_subfolder(root, v.lq or None, LQ_FOLDERS, "val.lq")
            gt_root = find_subfolder(root, v.gt or None, GT_FOLDERS, "val.gt")
            self.metrics = ("psnr", "ssim", "niqe") if v.niqe else ("psnr", "ssim")
        else:
            lq_root, gt_root = root, None
            self.metrics = ("niqe",)
        clips = find_clips(lq_root)
        refs = pair_references(clips, gt_root) if gt_root is not None else [None] * len(clips)
        pairs = list(zip(clips, refs))
        self.pairs = pairs[: v.max_clips] if v.max_clips else pairs
        self.specs = metric_specs(self.metrics, "paper")

    def __call__(self, model: nn.Module, step: int) -> dict[str, Any]:
        """Scores of ``model`` (a copy runs, so the EMA model is left untouched)."""
        from ..inference import EngineOptions, Upscaler

        upscaler = Upscaler(copy.deepcopy(model), EngineOptions(device=str(self.device), precision="fp32",
                                                                outscale=float(self.config.model.upscale)))
        picks = list(range(self.config.val.max_frames)) if self.config.val.max_frames else None
        rows = []
        sheet = None
        for (name, path), ref in self.pairs:
            lq = [f for _, f in read_clip(path, picks)]
            sr = upscaler(lq)
            gt = [f for _, f in read_clip(ref, picks)] if ref is not None else [None] * len(sr)
            for i, (out, target) in enumerate(zip(sr, gt)):
                rows.append(score_frame(out, target, self.specs, where=f"validation {name} frame {i}"))
            if sheet is None:
                mid = len(sr) // 2
                sheet = self._sheet(lq[mid], sr[mid], gt[mid])
        means = {m: float(np.mean([r[m] for r in rows])) for m in self.metrics}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        write_image(self.out_dir / f"iter_{step:08d}.png", sheet)
        key = self.metrics[0]
        higher = key != "niqe"
        return {
            "metric": key, "value": means[key], "means": means,
            "better": (lambda a, b: a > b) if higher else (lambda a, b: a < b),
            "summary": "  ".join(f"{m.upper()} {v:.4f}" for m, v in means.items()),
        }

    def _sheet(self, lq: np.ndarray, sr: np.ndarray, gt: np.ndarray | None) -> np.ndarray:
        s, c = self.config.model.upscale, self.config.val.crop
        h, w = lq.shape[:2]
        c = min(c, h, w)
        y, x = (h - c) // 2, (w - c) // 2
        near = cv2.resize(lq[y : y + c, x : x + c], (c * s, c * s), interpolation=cv2.INTER_NEAREST)
        panels = [near, sr[y * s : (y + c) * s, x * s : (x + c) * s]]
        if gt is not None:
            panels.append(gt[y * s : (y + c) * s, x * s : (x + c) * s])
        gap = np.full((c * s, 4, 3), 255, np.uint8)
        out = [panels[0]]
        for p in panels[1:]:
            out += [gap, p]
        return np.concatenate(out, axis=1)
