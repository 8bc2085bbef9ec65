"""Training clips for the loop: the dataset a config names, procedural clips for tests and smoke runs,
and a batch sampler whose position is a function of the step (so a resumed run draws the same batches).
"""

from __future__ import annotations

import math
import signal
from typing import Iterator, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from ..data import RealVSRDataset, find_sequences, reds_sequences
from ..errors import RealBasicVSRError
from .config import TrainConfig


class PanSequence:
    """A camera panning, zooming and turning slowly over a still picture: moving crops of ``size`` pixels,
    a function of the picture and the seed only. ``picture`` is an array, or a path read on first use
    (so a dataset of many photos holds no pixels until a worker reads them)."""

    def __init__(self, picture: np.ndarray | str, seed: int, size: int = 96, num_frames: int = 12,
                 name: str | None = None) -> None:
        self.size, self.num_frames, self.seed = int(size), int(num_frames), int(seed)
        self._picture = picture
        self.name = name or f"pan_{seed}"
        rng = np.random.default_rng([20221, seed])
        self.speed = rng.uniform(0.3, 2.5) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
        self.zoom = rng.uniform(-0.01, 0.01)
        self.angle = rng.uniform(-0.5, 0.5)  # degrees per frame
        self.start = rng.uniform(0, 1, size=2)  # where in the picture the path starts (fraction of the free room)

    def picture(self) -> np.ndarray:
        if isinstance(self._picture, str):
            from ..io import read_image

            self._picture = read_image(self._picture)
        return self._picture

    def read(self, indices: Sequence[int]) -> np.ndarray:
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


def synthetic_sequence(seed: int, size: int = 96, num_frames: int = 12) -> PanSequence:
    """A procedural clip (a pan over a random texture) so a smoke run needs no dataset on disk."""
    texture = _texture(np.random.default_rng([20221, seed]), size * 2)
    return PanSequence(texture, seed, size, num_frames, name=f"synthetic_{seed}")


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


def manifest_sequences(manifest: str, split: str, pans_per_photo: int, size: int, frames: int) -> list:
    """Training sequences from ``scripts/fetch_training_data.py``'s manifest: every video of ``split`` and
    ``pans_per_photo`` moving-crop sequences of ``size`` pixels over every photo of it."""
    import json
    from pathlib import Path

    from ..data import VideoSequence

    path = Path(manifest)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["files"]
    except FileNotFoundError:
        raise RealBasicVSRError(f"data.root: no manifest at {path} (run scripts/fetch_training_data.py)") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RealBasicVSRError(f"data.root {path} is not a training-data manifest: {e}") from None
    seqs: list = []
    for n, e in enumerate(x for x in entries if x.get("split") == split):
        file = str(path.parent / e["path"])
        if e["kind"] == "video":
            seqs.append(VideoSequence(file))
        else:
            seqs += [PanSequence(file, n * 1000 + k, size, frames, name=f"{Path(file).stem}_{k}")
                     for k in range(pans_per_photo)]
    if not seqs:
        raise RealBasicVSRError(f"{path} lists no files of split {split!r}")
    return seqs


def build_dataset(config: TrainConfig) -> RealVSRDataset:
    """The dataset of ``config.data`` with the config's degradations; missing or empty data are errors."""
    d = config.data
    if d.source != "synthetic" and not d.root:
        raise RealBasicVSRError(f"data.root is required for data.source = {d.source!r} (--set data.root=PATH)")
    if d.source == "synthetic":
        seqs = [synthetic_sequence(i, d.synthetic_size, d.synthetic_frames) for i in range(d.synthetic_clips)]
    elif d.source == "manifest":
        seqs = manifest_sequences(d.root, d.split, d.pans_per_photo, d.synthetic_size, d.synthetic_frames)
    elif d.source == "reds":
        seqs = reds_sequences(d.root, "train")
    else:
        seqs = find_sequences(d.root)
    if not seqs:
        raise RealBasicVSRError(f"data.root {d.root}: no training sequences found")
    return RealVSRDataset(
        seqs, config=config.degradations, clip_length=d.clip_length, mirror=d.mirror, intervals=d.intervals,
        lq_size=d.lq_size, hflip=d.hflip, vflip=d.vflip, transpose=d.transpose, seed=config.train.seed,
        repeat=d.repeat,
    )


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of ``(epoch, index)`` for one rank, starting at micro-batch ``start``.

    Epoch ``e`` shuffles the items with a generator seeded by (seed, e) and deals them to the ranks in
    turn; micro-batch ``k`` is batch ``k % per_epoch`` of epoch ``k // per_epoch``. Nothing depends on
    earlier iterations, so resuming at step s (micro-batch s * accumulate) continues the same sequence.
    The dataset derives each item's randomness from (seed, epoch, index), so workers need no RNG state.
    """

    def __init__(self, num_items: int, batch_size: int, *, seed: int = 0, rank: int = 0, world_size: int = 1,
                 start: int = 0, stop: int | None = None) -> None:
        self.n, self.batch, self.seed = int(num_items), int(batch_size), int(seed)
        self.rank, self.world = int(rank), int(world_size)
        self.start, self.stop = int(start), stop
        self.per_epoch = max(1, self.n // (self.batch * self.world))

    def _epoch_share(self, epoch: int) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(self.n, generator=g).tolist()
        need = self.per_epoch * self.batch * self.world
        perm = (perm * math.ceil(need / self.n))[:need]
        return perm[self.rank :: self.world]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        k, cached = self.start, (-1, [])
        while self.stop is None or k < self.stop:
            epoch, b = divmod(k, self.per_epoch)
            if cached[0] != epoch:
                cached = (epoch, self._epoch_share(epoch))
            yield [(epoch, i) for i in cached[1][b * self.batch : (b + 1) * self.batch]]
            k += 1

    def __len__(self) -> int:
        if self.stop is None:
            raise TypeError("an endless sampler has no length")
        return max(0, self.stop - self.start)


def _ignore_sigint(_: int) -> None:
    # Ctrl-C reaches the whole process group: workers ignore it and the main process stops cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_loader(dataset: RealVSRDataset, config: TrainConfig, *, rank: int, world_size: int, start_step: int,
                stop_step: int) -> DataLoader:
    """A DataLoader of micro-batches for steps ``start_step`` .. ``stop_step - 1`` of this rank."""
    acc = config.train.accumulate
    sampler = StepBatchSampler(len(dataset), config.train.batch_size, seed=config.train.seed, rank=rank,
                               world_size=world_size, start=start_step * acc, stop=stop_step * acc)
    workers = config.data.num_workers
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers,
                      worker_init_fn=_ignore_sigint if workers else None, persistent_workers=False,
                      prefetch_factor=2 if workers else None)
