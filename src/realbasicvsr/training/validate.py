"""Validation during training: upscale a held-out set with the EMA generator, score it, save crops.

Paired sets (``lq/`` + ``gt/`` sub-folders, e.g. UDM10 or REDS4) give PSNR/SSIM on Y; an LQ-only set
gives NIQE on Y (the paper's convention); ``val.niqe`` adds NIQE to a paired set's scores. Each run writes
a side-by-side PNG (LQ | output | GT) of the first clip's middle frame to ``val/iter_<8-digit
iteration>.png`` in the work folder.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ..evaluation import GT_FOLDERS, LQ_FOLDERS, find_subfolder, metric_specs, pair_references, score_upscaled
from ..inference import EngineOptions, Upscaler
from ..io import write_image
from ..io.clips import find_clips
from ..metrics import HIGHER_IS_BETTER
from .config import TrainConfig


@dataclass(frozen=True)
class ValidationResult:
    """The mean of every metric over the validation frames; ``metric`` (the first one) picks ``best.pth``."""

    metric: str
    means: dict[str, float]

    @property
    def value(self) -> float:
        """The score that decides which checkpoint is best."""
        return self.means[self.metric]

    @property
    def summary(self) -> str:
        """The log line's scores, e.g. ``PSNR 27.1234  SSIM 0.8012``."""
        return "  ".join(f"{m.upper()} {v:.4f}" for m, v in self.means.items())

    def better_than(self, best: float | None) -> bool:
        """Whether this score beats ``best`` (None: nothing to beat), in the metric's direction."""
        if best is None:
            return True
        return self.value > best if HIGHER_IS_BETTER[self.metric] else self.value < best


class Validator:
    """The held-out clips of ``config.val`` and the metrics they are scored with."""

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

    def __call__(self, model: nn.Module, step: int) -> ValidationResult:
        """Scores of ``model`` (a copy runs, so the EMA model is left untouched) and the crop sheet of step
        ``step``."""
        upscaler = Upscaler(copy.deepcopy(model), EngineOptions(device=str(self.device), precision="fp32",
                                                                outscale=float(self.config.model.upscale)))
        picks = list(range(self.config.val.max_frames)) if self.config.val.max_frames else None
        sheets: list[np.ndarray] = []

        def keep_first_sheet(name: str, lq: list[np.ndarray], sr: list[np.ndarray], gt: dict[int, np.ndarray]) -> None:
            if not sheets:
                mid = len(sr) // 2
                sheets.append(self._sheet(lq[mid], sr[mid], gt.get(mid)))

        result = score_upscaled(self.pairs, upscaler, self.specs, read=picks, keep=keep_first_sheet,
                                where="validation ")
        # the mean over every scored frame (not the mean of clip means)
        means = {m: float(np.mean([r[m] for r in result.per_frame])) for m in self.metrics}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        write_image(self.out_dir / f"iter_{step:08d}.png", sheets[0])
        return ValidationResult(self.metrics[0], means)

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
