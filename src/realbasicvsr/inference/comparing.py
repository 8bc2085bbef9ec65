"""``upscale --compare``: an upscaler whose outputs are comparisons with bicubic instead of the plain result."""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from ..compare import check_compare_mode, compose
from ..models import ForwardState
from ..report import Reporter
from .engine import Chunk, EngineOptions, FrameUpscaler, frame_of


class ComparingUpscaler:
    """Wraps an upscaler so that it returns comparison frames (``compose``) instead of its outputs."""

    def __init__(self, upscaler: FrameUpscaler, mode: str, label: str) -> None:
        check_compare_mode(mode)
        self.upscaler, self.mode, self.label = upscaler, mode, label

    @property
    def options(self) -> EngineOptions:
        """The wrapped upscaler's options (the job's chunking and identity)."""
        return self.upscaler.options

    @property
    def reporter(self) -> Reporter:
        """The wrapped upscaler's channel for warnings and progress."""
        return self.upscaler.reporter

    def __call__(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """Comparisons of ``frames`` with their upscaled versions (all of them as one window)."""
        outs = self.upscaler(frames)
        return [compose(lq, o, self.mode, self.label) for lq, o in zip(frames, outs)]

    def stream(self, items: Iterable, first_window: int = 0, state: dict[int, ForwardState] | None = None,
               stop_window: int | None = None, shots=None) -> Iterator[Chunk]:
        """``Upscaler.stream`` with each chunk's frames replaced by their comparisons."""
        for chunk in self.upscaler.stream(items, first_window, state, stop_window, shots):
            chunk.frames = [compose(frame_of(x), o, self.mode, self.label) for x, o in zip(chunk.items, chunk.frames)]
            yield chunk
