"""Procedural frame sequences: a camera panning over a still picture (a photo, or a random texture for
tests and smoke runs that need no dataset on disk)."""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from ..errors import RealBasicVSRError
from ..io import read_image


class PanSequence:
    """A camera panning, zooming and turning slowly over a still picture: moving crops of ``size`` pixels,
    a function of the picture and the seed only. ``picture`` is an array, or a path read on first use
    (so a dataset of many photos holds no pixels until a worker reads them)."""

    def __init__(self, picture: np.ndarray | str, seed: int, size: int = 96, num_frames: int = 12,
                 name: str | None = None, max_speed: float = 2.5) -> None:
        if not max_speed >= 0.3:  # NaN included
            raise RealBasicVSRError(f"max_speed must be >= 0.3 pixels per frame (the slowest pan), got {max_speed}")
        self.size, self.num_frames, self.seed = int(size), int(num_frames), int(seed)
        self._picture = picture
        self.name = name or f"pan_{seed}"
        rng = np.random.default_rng([20221, seed])
        # pixels per frame, uniform in [0.3, max_speed]: the default keeps every pan slow (real footage also
        # has fast motion, which the propagation must learn not to trust its flow for)
        self.speed = rng.uniform(0.3, max_speed) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        self.zoom = rng.uniform(-0.01, 0.01)
        self.angle = rng.uniform(-0.5, 0.5)  # degrees per frame
        self.start = rng.uniform(0, 1, size=2)  # where in the picture the path starts (fraction of the free room)

    def picture(self) -> np.ndarray:
        """The still picture the camera moves over (read from disk on first use)."""
        if isinstance(self._picture, str):
            self._picture = read_image(self._picture)
        return self._picture

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """uint8 (len(indices), size, size, 3) crops of the picture along the camera's path."""
        pic = self.picture()
        ph, pw = pic.shape[:2]
        # first centre: the whole path stays inside the picture where it can (reflected borders otherwise)
        path = self.speed * (self.num_frames - 1)
        lo = self.size / 2 + np.maximum(0, -path)
        hi = np.array([pw, ph]) - self.size / 2 - np.maximum(0, path)
        origin = np.where(hi > lo, lo + self.start * (hi - lo), np.array([pw, ph]) / 2)
        frames = []
        for i in indices:
            if not 0 <= i < self.num_frames:
                raise IndexError(i)
            centre = origin + self.speed * i
            m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), self.angle * i, 1.0 + self.zoom * i)
            m[:, 2] += np.array([self.size / 2, self.size / 2]) - centre
            frames.append(cv2.warpAffine(pic, m, (self.size, self.size), flags=cv2.INTER_CUBIC,
                                         borderMode=cv2.BORDER_REFLECT_101))
        return np.stack(frames)


def synthetic_sequence(seed: int, size: int = 96, num_frames: int = 12, max_speed: float = 2.5) -> PanSequence:
    """A procedural clip (a pan over a random texture) so a smoke run needs no dataset on disk."""
    texture = _texture(np.random.default_rng([20221, seed]), size * 2)
    return PanSequence(texture, seed, size, num_frames, name=f"synthetic_{seed}", max_speed=max_speed)


def _texture(rng: np.random.Generator, side: int) -> np.ndarray:
    """uint8 (side, side, 3): smooth colour field + oriented stripes + discs and bars + grain."""
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    img = np.zeros((side, side, 3), np.float32)
    for c in range(3):
        low = cv2.resize(rng.uniform(0, 1, (4, 4)).astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
        img[..., c] = 0.25 + 0.5 * low
    for _ in range(3):
        theta, freq = rng.uniform(0, math.pi), rng.uniform(8, 40)
        wave = np.sin(2 * math.pi * freq * (xx * math.cos(theta) + yy * math.sin(theta)))
        img += 0.12 * wave[..., None] * rng.uniform(0.3, 1, 3)
    for _ in range(12):
        colour = tuple(float(v) for v in rng.uniform(0, 1, 3))
        x, y = (int(v) for v in rng.integers(0, side, 2))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), int(rng.integers(3, side // 6)), colour, -1, lineType=cv2.LINE_AA)
        else:
            x2, y2 = (int(v) for v in rng.integers(0, side, 2))
            cv2.line(img, (x, y), (x2, y2), colour, int(rng.integers(1, 4)), lineType=cv2.LINE_AA)
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
