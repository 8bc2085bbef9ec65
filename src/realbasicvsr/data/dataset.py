"""The training dataset: sequences -> random clip, crop and flips -> on-the-fly LQ synthesis.

Each item's randomness comes from ``numpy.random.default_rng([seed, epoch, index])``: items are
reproducible and independent of how many DataLoader workers load them or in which order (no RNG state
is shared between forked workers). Call :meth:`RealVSRDataset.set_epoch` every epoch for fresh draws.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import RealBasicVSRError
from ..degradations import DegradationConfig, DegradationPipeline, mirror_sequence
from .sampling import clip_indices, random_crop, random_flips
from .sequences import FrameSequence


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) float -> (T, 3, H, W) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32))


class RealVSRDataset(Dataset):
    """Yields ``(lq, gt, gt_sharpened)`` tensors of shape (T, 3, h, w), (T, 3, H, W), (T, 3, H, W).

    Defaults follow the RealBasicVSR recipe: 15 loaded frames (interval 1, random start) mirrored to 30,
    a 256x256 GT crop (64x64 LQ at scale 4), flips and transpose with p = 0.5 shared by all frames.
    ``repeat`` lists every sequence that many times per epoch. ``cut_prob`` > 0 (not in the recipe): with
    that probability the clip cuts to another sequence at a random frame, as at a scene cut.
    """

    def __init__(
        self,
        sequences: Sequence[FrameSequence],
        *,
        config: DegradationConfig | None = None,
        clip_length: int = 15,
        mirror: bool = True,
        intervals: Sequence[int] = (1,),
        lq_size: int = 64,
        hflip: float = 0.5,
        vflip: float = 0.5,
        transpose: float = 0.5,
        seed: int = 0,
        repeat: int = 1,
        cut_prob: float = 0.0,
    ) -> None:
        self.pipeline = DegradationPipeline(config)
        self.scale = self.pipeline.config.scale
        self.clip_length, self.mirror, self.intervals = int(clip_length), bool(mirror), tuple(int(i) for i in intervals)
        self.gt_size = int(lq_size) * self.scale
        self.flips = (hflip, vflip, transpose)
        self.seed, self.repeat, self.epoch = int(seed), int(repeat), 0
        self.cut_prob = float(cut_prob)
        if self.clip_length < 1 or not self.intervals or min(self.intervals) < 1 or self.repeat < 1 or lq_size < 1:
            raise RealBasicVSRError("clip_length, intervals, lq_size and repeat must be positive")
        if not 0 <= self.cut_prob <= 1:
            raise RealBasicVSRError(f"cut_prob must be in [0, 1], got {cut_prob}")
        span = (self.clip_length - 1) * min(self.intervals) + 1
        self.sequences = [s for s in sequences if s.num_frames >= span]
        if not self.sequences:
            raise RealBasicVSRError(f"no sequence has the {span} frames a clip of {self.clip_length} needs")

    def set_epoch(self, epoch: int) -> None:
        """Select the random draws of an epoch (call before creating the epoch's DataLoader iterator)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.sequences) * self.repeat

    def rng(self, index: int, epoch: int | None = None) -> np.random.Generator:
        """The generator of one item: a function of (seed, epoch, index) only."""
        return np.random.default_rng([self.seed, self.epoch if epoch is None else int(epoch), int(index)])

    def _clip(self, seq: FrameSequence, rng: np.random.Generator) -> np.ndarray:
        """``clip_length`` frames of ``seq`` at a random interval and start, cropped to the GT size."""
        usable = [i for i in self.intervals if (self.clip_length - 1) * i + 1 <= seq.num_frames]
        interval = usable[int(rng.integers(len(usable)))]
        frames = seq.read(clip_indices(seq.num_frames, self.clip_length, interval, rng))
        return random_crop(frames, self.gt_size, rng, align=self.scale)

    def __getitem__(self, index: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Item ``index`` of the current epoch, or of another one when given ``(epoch, index)`` (what the
        training sampler passes, so workers need no shared epoch state)."""
        epoch, index = index if isinstance(index, tuple) else (None, index)
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = self.rng(index, epoch)
        frames = self._clip(self.sequences[index % len(self.sequences)], rng)
        # drawn only when cuts are on, so clips without them are what they always were
        if self.cut_prob > 0 and rng.random() < self.cut_prob and len(self.sequences) > 1:
            other = (index + 1 + int(rng.integers(len(self.sequences) - 1))) % len(self.sequences)
            at = int(rng.integers(1, self.clip_length))
            frames[at:] = self._clip(self.sequences[other], rng)[at:]
        frames = random_flips(frames, rng, *self.flips)
        gt = frames.astype(np.float32) / 255.0
        lq, gt_sharp = self.pipeline(gt, rng, mirror=self.mirror)
        if self.mirror:
            gt = mirror_sequence(gt)
        return to_tensor(lq), to_tensor(gt), to_tensor(gt_sharp)
