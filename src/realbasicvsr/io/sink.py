"""Where frames go: a video or a folder of PNGs, published atomically. Frames are written to a hidden
temporary file/folder beside the final path, which is renamed into place only when the writer closes
without error.
"""

from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..atomic import apply_umask, publish, remove_path
from ..errors import RealBasicVSRError
from ..report import SettingError
from .frames import is_image_path, write_image
from .source import FrameSource
from .video import VideoEncoder, container_format, is_video_path, rate_fraction


def check_output_path(output: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse to overwrite an input, or an existing output without ``overwrite``."""
    out = output.resolve()
    for inp in inputs:
        inp = inp.resolve()
        if out == inp or (inp.is_dir() and out.is_relative_to(inp) and not is_video_path(out)):
            raise RealBasicVSRError(f"output {output} would overwrite or sit inside the input {inp}")
    if output.exists() and not overwrite:
        raise SettingError(f"{output} already exists; pass `overwrite` to replace it")
    if output.is_dir() and not output.is_symlink():
        if is_video_path(output) or any(not (p.is_file() and is_image_path(p)) for p in output.iterdir()):
            raise SettingError(
                f"{output} is a folder that holds more than frames; `overwrite` only replaces earlier outputs. "
                "Choose another output path"
            )


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
