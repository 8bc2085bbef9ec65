"""Clip sampling and geometric augmentation shared by all frames of a clip (explicit RNG, no global state)."""

from __future__ import annotations

import numpy as np

from ..errors import RealBasicVSRError


def clip_indices(num_frames: int, length: int, interval: int, rng: np.random.Generator) -> list[int]:
    """``length`` frame indices ``interval`` apart from a uniformly random start that fits the sequence."""
    span = (length - 1) * interval + 1
    if span > num_frames:
        raise RealBasicVSRError(f"a clip of {length} frames at interval {interval} needs {span} frames, "
                                f"the sequence has {num_frames}")
    start = int(rng.integers(0, num_frames - span + 1))
    return list(range(start, start + span, interval))


def random_crop(frames: np.ndarray, size: int, rng: np.random.Generator, align: int = 1) -> np.ndarray:
    """The same random ``size`` x ``size`` window of every frame of (T, H, W, C).

    The top-left corner is a multiple of ``align`` (the scale), so the window sits on the LQ pixel grid.
    """
    h, w = frames.shape[1:3]
    if h < size or w < size:
        raise RealBasicVSRError(f"frames of {w}x{h} are smaller than the {size}x{size} training crop")
    top = int(rng.integers(0, (h - size) // align + 1)) * align
    left = int(rng.integers(0, (w - size) // align + 1)) * align
    return frames[:, top : top + size, left : left + size]


def random_flips(
    frames: np.ndarray, rng: np.random.Generator, hflip: float = 0.5, vflip: float = 0.5, transpose: float = 0.5
) -> np.ndarray:
    """Horizontal flip, vertical flip and H/W transpose, each with its probability, the same for all frames."""
    if rng.random() < hflip:
        frames = frames[:, :, ::-1]
    if rng.random() < vflip:
        frames = frames[:, ::-1]
    if rng.random() < transpose:
        frames = frames.transpose(0, 2, 1, 3)
    return np.ascontiguousarray(frames)
