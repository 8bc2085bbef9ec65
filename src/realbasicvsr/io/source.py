"""Where frames come from and go to: one interface for videos, frame folders and single images.

Outputs are published atomically: frames are written to a hidden temporary file/folder beside the
final path, which is renamed into place only when the writer closes without error.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import av
import numpy as np

from ..atomic import apply_umask
from ..errors import RealBasicVSRError
from .colour import Colour
from .frames import is_image_path, list_frame_files, read_frames, read_image, write_image
from .video import (
    TruncatedInputError, VideoEncoder, container_format, decode_frames, display_matrix_of, estimate_frame_count, frame_to_rgb, is_video_path,
    open_container, rate_fraction, read_video_frames, video_fps,
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
            raise RealBasicVSRError(f"{what}; only {count} frames could be read (pass --allow-partial to use them)")
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


def check_output_path(output: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse to overwrite an input, or an existing output without ``overwrite``."""
    out = output.resolve()
    for inp in inputs:
        inp = inp.resolve()
        if out == inp or (inp.is_dir() and out.is_relative_to(inp) and not is_video_path(out)):
            raise RealBasicVSRError(f"output {output} would overwrite or sit inside the input {inp}")
    if output.exists() and not overwrite:
        raise RealBasicVSRError(f"{output} already exists; pass --overwrite to replace it")
    if output.is_dir() and not output.is_symlink():
        if is_video_path(output) or any(not (p.is_file() and is_image_path(p)) for p in output.iterdir()):
            raise RealBasicVSRError(
                f"{output} is a folder that holds more than frames; --overwrite only replaces earlier outputs. "
                "Choose another output path"
            )


def publish(tmp: Path, final: Path) -> None:
    """Move a finished temporary output into place, replacing an older output only at the very end."""
    if final.is_dir() and not final.is_symlink():
        backup = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, backup)
        os.replace(tmp, final)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(tmp, final)


def remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


class FrameSink:
    """Writes uint8 RGB frames to a video (video extension) or a folder of PNGs (anything else).

    The output appears at ``path`` only when the sink is closed after a clean run; an exception inside
    the ``with`` block removes the partial output. Odd frame sizes are encoded as 4:4:4 (4:2:0 needs even).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fps: float | Fraction | None = None,
        overwrite: bool = False,
        codec: str = "libx264",
        crf: int | None = 18,
        preset: str | None = "medium",
        pix_fmt: str | None = None,
        inputs: tuple[str | os.PathLike, ...] = (),
        source: FrameSource | None = None,
    ) -> None:
        self.path = Path(path)
        self.source = source  # its colour (known once it has decoded a frame) decides the output's
        check_output_path(self.path, [Path(p) for p in inputs], overwrite)
        self.is_video = is_video_path(self.path)
        self.rate = rate_fraction(fps)
        self.codec, self.crf, self.preset, self.pix_fmt = codec, crf, preset, pix_fmt
        self.count = 0
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            if self.is_video:
                fd, name = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".partial{self.path.suffix}", dir=parent)
                os.close(fd)
            else:
                name = tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".partial", dir=parent)
        except OSError as e:
            raise RealBasicVSRError(f"cannot create output in {parent}: {e.strerror or e}") from e
        self.tmp = Path(name)
        self._encoder: VideoEncoder | None = None

    def write(self, frame: np.ndarray) -> None:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"FrameSink.write expects uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        try:
            if self.is_video:
                self._encode(frame)
            else:
                write_image(self.tmp / f"{self.count:08d}.png", frame)
        except OSError as e:
            raise RealBasicVSRError(f"writing {self.path} failed: {e.strerror or e}") from e
        self.count += 1

    def _encode(self, frame: np.ndarray) -> None:
        if self._encoder is None:
            self._encoder = VideoEncoder(
                self.tmp, codec=self.codec, rate=self.rate, crf=self.crf, preset=self.preset,
                pix_fmt=self.pix_fmt, fmt=container_format(self.path),
                colour=self.source.colour if self.source is not None else None,
            )
        self._encoder.write(frame, self.count)

    def close(self, ok: bool = True) -> None:
        """Finish and publish (``ok``) or discard the partial output."""
        try:
            if ok:
                if self.count == 0:
                    raise RealBasicVSRError(f"no frames were written to {self.path}")
                if self._encoder is not None:
                    self._encoder.close()
                    self._encoder = None
                apply_umask(self.tmp)  # mkstemp/mkdtemp made it private
                publish(self.tmp, self.path)
        except OSError as e:
            raise RealBasicVSRError(f"finishing {self.path} failed: {e.strerror or e}") from e
        finally:
            if self._encoder is not None:
                try:
                    self._encoder.close()
                except (av.error.FFmpegError, RealBasicVSRError):
                    pass
                self._encoder = None
            remove_path(self.tmp)

    def __enter__(self) -> "FrameSink":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)


def open_sink(
    path: str | os.PathLike,
    *,
    fps: float | Fraction | None = None,
    like: FrameSource | None = None,
    overwrite: bool = False,
    codec: str = "libx264",
    crf: int | None = 18,
    preset: str | None = "medium",
    pix_fmt: str | None = None,
) -> FrameSink:
    """A FrameSink; ``like`` takes the frame rate of a source (and guards it from being overwritten)."""
    if fps is None and like is not None and like.kind == "video":
        fps = like.rate
    inputs = (like.path,) if like is not None else ()
    return FrameSink(path, fps=fps, overwrite=overwrite, codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt,
                     inputs=inputs, source=like)
