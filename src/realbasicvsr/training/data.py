"""Training clips for the loop: the dataset a config names and a batch sampler whose position is a
function of the step (so a resumed run draws the same batches)."""

from __future__ import annotations

import math
import signal
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Sampler

from ..data import RealVSRDataset, find_sequences, manifest_sequences, reds_sequences, synthetic_sequence
from ..errors import RealBasicVSRError
from ..report import SettingError
from .config import TrainConfig


def build_dataset(config: TrainConfig) -> RealVSRDataset:
    """The dataset of ``config.data`` with the config's degradations; missing or empty data are errors."""
    d = config.data
    if d.source != "synthetic" and not d.root:
        raise SettingError(f"data.root is required for data.source = {d.source!r} (`set` data.root=PATH)")
    if d.source == "synthetic":
        seqs = [synthetic_sequence(i, d.synthetic_size, d.synthetic_frames, d.pan_max_speed)
                for i in range(d.synthetic_clips)]
    elif d.source == "manifest":
        try:
            seqs = manifest_sequences(d.root, d.split, d.pans_per_photo, d.synthetic_size, d.synthetic_frames,
                                      d.pan_max_speed)
        except RealBasicVSRError as e:
            raise RealBasicVSRError(f"data.root: {e}") from None
    elif d.source == "reds":
        seqs = reds_sequences(d.root, "train")
    else:
        seqs = find_sequences(d.root)
    if not seqs:
        raise RealBasicVSRError(f"data.root {d.root}: no training sequences found")
    return RealVSRDataset(
        seqs, config=config.degradations, clip_length=d.clip_length, mirror=d.mirror, intervals=d.intervals,
        lq_size=d.lq_size, hflip=d.hflip, vflip=d.vflip, transpose=d.transpose, seed=config.train.seed,
        repeat=d.repeat, cut_prob=d.cut_prob,
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
