"""Honest time estimates for ``--dry-run``: a few seconds of measurement on this machine instead of an
assumed speed. The model's throughput is measured with random weights of the job's architecture (the cost
does not depend on the values, so nothing is downloaded), decoding and encoding on the input's first
frames at the output size; the estimate is the job's frames times both."""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from ..cost import gflops_per_written_frame
from ..io.frames import write_image
from ..io.source import FrameSource
from ..io.video import VideoEncoder
from ..models.config import ArchConfig
from ..timing import measure, time_calls
from .engine import EngineOptions, Upscaler
from .job import OutputOptions

_CROP = (64, 96)  # LR size the model is timed at (then scaled by FLOPs) when the real size would take long
_WRITTEN, _CONTEXT = 3, 1  # the timed window: written frames and context frames
_MIN_SECONDS = 0.3  # repeat short measurements until they add up to this (after a warm-up call)
_FULL_SIZE_BUDGET = 6.0  # seconds the measurement at the real frame size may take, warm-up included


def model_speed(arch: ArchConfig, options: EngineOptions, size: tuple[int, int]) -> tuple[float, float]:
    """(GFLOP/s, one-off seconds) of the engine for ``arch`` (random weights) on ``options``' device and
    precision, measured at the LR ``size`` (W, H) the job runs at when that takes a few seconds at most,
    else on a crop of it (small frames are slower per FLOP, so the real size matters most for small
    models). The one-off seconds are the first window's kernel set-up, which a job pays too."""
    if not arch.flow:
        return float("inf"), 0.0  # interpolation: no network to speak of
    torch.manual_seed(0)
    up = Upscaler(arch.build(), replace(options, tile=0, outscale=None))
    rng = np.random.default_rng(0)

    def window_gflops(h: int, w: int) -> float:
        # no state is passed to the timed window, so its forward branch starts fresh (carried=False)
        return gflops_per_written_frame(arch, h, w, _WRITTEN, _CONTEXT, carried=False) * _WRITTEN

    def speed(h: int, w: int, min_seconds: float) -> tuple[float, float]:
        frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(_WRITTEN + _CONTEXT)]
        timing = time_calls(lambda: up.window(frames, 0, _WRITTEN), min_seconds)
        return window_gflops(h, w) / timing.per_call, timing.setup

    w, h = size
    crop = speed(min(h, _CROP[0]), min(w, _CROP[1]), _MIN_SECONDS)
    if (h, w) == (min(h, _CROP[0]), min(w, _CROP[1])):
        return crop
    if 2 * window_gflops(h, w) / crop[0] > _FULL_SIZE_BUDGET:
        return crop
    return speed(h, w, 0.0)


def io_seconds_per_frame(source: FrameSource, kind: str, out_size: tuple[int, int], output: OutputOptions) -> float:
    """Decoding a few of the input's frames and encoding them, enlarged to the output size, as the job will."""
    frames, seconds = measure(lambda: list(itertools.islice(source, 8)))
    decode = seconds / len(frames)
    big = [cv2.resize(f, out_size, interpolation=cv2.INTER_CUBIC) for f in frames]
    with tempfile.TemporaryDirectory(prefix="realbasicvsr-calibrate-") as tmp:
        def write() -> None:
            if kind == "video":
                enc = VideoEncoder(Path(tmp) / "probe.mp4", codec=output.codec, rate=source.rate, crf=output.crf,
                                   preset=output.preset, pix_fmt=output.pix_fmt, fmt="mp4", colour=source.colour)
                for i, f in enumerate(big):
                    enc.write(f, i)
                enc.close()
            else:
                for i, f in enumerate(big):
                    write_image(Path(tmp) / f"{i}.png", f)

        encode = measure(write)[1] / len(big)
    return decode + encode
