"""Where frames come from: one interface for videos, frame folders and single images (``io/sink.py`` is
where they go)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..errors import RealBasicVSRError
from ..report import SettingError
from .colour import Colour
from .frames import is_image_path, list_frame_files, read_frames, read_image
from .video import (
    TruncatedInputError, decode_frames, display_matrix_of, estimate_frame_count, frame_to_rgb, open_container,
    rate_fraction, read_video_frames, video_fps,
)


class FrameSource:
    """Iterable of uint8 (H, W, 3) RGB frames from a video, a folder of frames or one image.

    Raises RealBasicVSRError when the frame size changes mid-stream or there are no frames at all. A
    video whose tail is truncated or damaged is one policy everywhere: with ``allow_partial`` (upscale,
    degrade) the decodable frames are kept and ``warnings`` says how many were read; without (evaluate,
    test) it is an error that says so.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None = None, allow_partial: bool = True) -> None:
        self.path = Path(path)
        self.allow_partial = allow_partial
        self.warnings: list[str] = []
        self._container = None
        self.rate: Fraction = rate_fraction(fps)
        self.time_base: Fraction = Fraction(1) / self.rate
        self.display_matrix: list[int] | None = None
        self.colour: Colour | None = None  # a video's, from its first frame; None for images (RGB)
        if not self.path.exists():
            raise RealBasicVSRError(f"no such file or folder: {self.path}")
        if self.path.is_dir():
            self.kind = "frames"
            self._files = list_frame_files(self.path)
            if not self._files:
                raise RealBasicVSRError(f"{self.path} contains no image frames (png, jpg, bmp, tiff, webp)")
            self.fps: float | None = None
            self.num_frames: int | None = len(self._files)
            h, w = read_image(self._files[0]).shape[:2]
        elif is_image_path(self.path):
            self.kind = "image"
            self._files = [self.path]
            self.fps = None
            self.num_frames = 1
            h, w = read_image(self.path).shape[:2]
        else:
            self.kind = "video"
            self._container = open_container(self.path)
            stream = self._container.streams.video[0]
            self.fps = video_fps(stream)
            self.rate = rate_fraction(stream.average_rate or stream.guessed_rate or self.fps)
            self.time_base = stream.time_base or Fraction(1) / self.rate
            self.num_frames = estimate_frame_count(self._container, stream)
            w, h = stream.codec_context.width, stream.codec_context.height
        self.size = (int(w), int(h))

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame, _ in self.timed_frames():
            yield frame

    def timed_frames(self) -> Iterator[tuple[np.ndarray, int]]:
        """(frame, pts in ``self.time_base``) pairs; frames without a timestamp continue the last one."""
        count = 0
        try:
            for frame, pts in self._raw_frames():
                if (frame.shape[1], frame.shape[0]) != self.size and count == 0 and self.kind == "video":
                    self.size = (frame.shape[1], frame.shape[0])  # container header disagreed with the codec
                if (frame.shape[1], frame.shape[0]) != self.size:
                    raise RealBasicVSRError(
                        f"{self.path}: frame {count} is {frame.shape[1]}x{frame.shape[0]}, earlier frames are "
                        f"{self.size[0]}x{self.size[1]}; the frame size must not change"
                    )
                count += 1
                yield frame, pts
        except TruncatedInputError as e:
            self._partial(f"{e}", count)
            return
        if count == 0:
            raise RealBasicVSRError(f"{self.path} has zero decodable frames")
        expected = self.num_frames if self.kind == "video" else None
        if expected and count < expected * 0.99 - 1:
            self._partial(f"{self.path}: the header promises {expected} frames but the stream ends (truncated file?)", count)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """uint8 (len(indices), H, W, 3) RGB frames by index: random access (a video seeks near the first
        one), the counterpart of iterating for training crops and chosen test frames."""
        if self.kind == "video":
            return read_video_frames(self.path, indices, self.fps)
        return read_frames(self._files, indices)

    def _partial(self, what: str, count: int) -> None:
        """The truncated-input policy: keep the ``count`` decodable frames with a warning, or refuse."""
        if not self.allow_partial:
            raise SettingError(f"{what}; only {count} frames could be read (pass `allow_partial` to use them)")
        self.warnings.append(f"{what}; kept the {count} decodable frames")

    def _raw_frames(self) -> Iterator[tuple[np.ndarray, int]]:
        if self.kind != "video":
            for i, f in enumerate(self._files):
                yield read_image(f), i
            return
        step = max(1, int(round(1 / (self.rate * self.time_base))))
        last = None
        for frame in decode_frames(self._container, str(self.path)):
            if last is None:
                self.display_matrix = display_matrix_of(frame)
                self.colour = Colour.of_frame(frame)
            pts = frame.pts if frame.pts is not None else (0 if last is None else last + step)
            if last is not None and pts <= last:
                pts = last + 1  # keep timestamps strictly increasing for the encoder
            last = pts
            yield frame_to_rgb(frame, self.colour), pts

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(path: str | os.PathLike, fps: float | None = None, allow_partial: bool = True) -> FrameSource:
    """A FrameSource for a video file, a folder of frames (natural sort) or a single image.

    ``fps`` is the rate given to frame folders and images (25 when None); videos keep their own.
    ``allow_partial``: the truncated-input policy (see :class:`FrameSource`).
    """
    return FrameSource(path, fps, allow_partial)
