"""YUV4MPEG2 (y4m) over pipes, what ffmpeg, mpv and vspipe speak: ``-`` as an input reads y4m from stdin,
``-`` as an output writes y4m to stdout, one frame at a time, each flushed as soon as it is made.

Reading goes through PyAV's y4m demuxer (any chroma layout it reads; range and chroma siting from the
header); writing is done here, so every frame reaches the reader whole and at once.
"""

from __future__ import annotations

import os
import signal
import sys
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Iterator

import av
import numpy as np

from ..errors import RealBasicVSRError
from ..report import SettingError
from .colour import Colour, rgb_to_planes
from .video import TruncatedInputError, decode_frames, frame_to_rgb, rate_fraction

PIPE = "-"
# pixel formats written to y4m, with the header's chroma tag (as FFmpeg's y4m muxer writes it)
Y4M_CHROMA = {"yuv420p": "C420jpeg XYSCSS=420JPEG", "yuv422p": "C422 XYSCSS=422", "yuv444p": "C444 XYSCSS=444",
              "yuv420p10le": "C420p10 XYSCSS=420P10"}


def is_pipe(path: str | os.PathLike) -> bool:
    """``-``: standard input as an input, standard output as an output."""
    return str(path) == PIPE


class ReaderClosedError(RealBasicVSRError):
    """The program reading our standard output closed it early (a broken pipe)."""


class _CountingReader:
    """A binary stream that counts what is read from it and keeps its first line (the y4m header)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream, self.count, self.head = stream, 0, b""

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if len(self.head) < 4096:
            self.head += data[:4096]
        self.count += len(data)
        return data


class PipeSource:
    """Frames of a y4m stream on stdin: the streaming half of ``FrameSource`` (no length, no seeking).

    A stream that ends inside a frame keeps the complete frames, with a warning."""

    kind = "video"
    num_frames = None
    display_matrix = None

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self.path = Path(PIPE)
        self.warnings: list[str] = []
        self.colour: Colour | None = None
        self._reader = _CountingReader(stream if stream is not None else sys.stdin.buffer)
        try:
            self._container = av.open(self._reader, "r", format="yuv4mpegpipe")
            video = self._container.streams.video[0]
        except (av.error.FFmpegError, IndexError, OSError) as e:
            raise RealBasicVSRError(f"standard input is not a y4m stream ({e}); send one with e.g. "
                                    "ffmpeg -i in.mkv -f yuv4mpegpipe -") from e
        self.rate: Fraction = rate_fraction(video.average_rate)
        self.time_base: Fraction = Fraction(1) / self.rate
        self.size = (int(video.codec_context.width), int(video.codec_context.height))
        blank = av.VideoFrame(self.size[0], self.size[1], video.codec_context.pix_fmt)
        depth = 2 if max(c.bits for c in blank.format.components) > 8 else 1
        self._frame_bytes = len(b"FRAME\n") + sum(p.width * p.height for p in blank.planes) * depth

    def timed_frames(self) -> Iterator[tuple[np.ndarray, int]]:
        """(frame, index) pairs as they arrive; the timestamps count frames at ``rate``."""
        count = 0
        try:
            for frame in decode_frames(self._container, "standard input"):
                if self.colour is None:
                    self.colour = Colour.of_frame(frame)
                yield frame_to_rgb(frame, self.colour), count
                count += 1
        except TruncatedInputError as e:
            self.warnings.append(f"{e}; kept the {count} complete frames")
            return
        header = self._reader.head.find(b"\n") + 1
        if self._reader.count - header > count * self._frame_bytes:
            self.warnings.append(f"the y4m stream on standard input ends inside frame {count} (truncated); "
                                 f"kept the {count} complete frames")
        if count == 0:
            raise RealBasicVSRError("the y4m stream on standard input has no complete frame")

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame, _ in self.timed_frames():
            yield frame

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "PipeSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PipeSink:
    """Writes uint8 RGB frames to stdout as y4m (``pix_fmt`` from ``Y4M_CHROMA``), each frame flushed whole
    (Ctrl-C waits for the frame being written), so what the reader got is always valid."""

    def __init__(self, rate: Fraction, source=None, pix_fmt: str | None = None, stream: BinaryIO | None = None) -> None:
        self.pix_fmt = "yuv420p" if pix_fmt in (None, "auto") else pix_fmt
        if self.pix_fmt not in Y4M_CHROMA:
            raise SettingError(f"`pix_fmt` {self.pix_fmt} can't be written to a y4m pipe; use one of "
                                    f"{', '.join(Y4M_CHROMA)}")
        self.rate, self.count = rate, 0
        self.source = source  # its colour (known once it has decoded a frame) decides the output's
        self._out = stream if stream is not None else sys.stdout.buffer
        self._colour: Colour | None = None

    def write(self, rgb: np.ndarray) -> None:
        """Append one frame (the header goes before the first)."""
        h, w = rgb.shape[:2]
        data = b""
        if self._colour is None:
            colour = getattr(self.source, "colour", None) or Colour(matrix="bt601", primaries=1, trc=13)
            self._colour = colour.for_output(w, h)
            data = (f"YUV4MPEG2 W{w} H{h} F{self.rate.numerator}:{self.rate.denominator} Ip A1:1 "
                    f"{Y4M_CHROMA[self.pix_fmt]} XCOLORRANGE=LIMITED\n").encode()
        planes = rgb_to_planes(rgb, self._colour, self.pix_fmt)
        if planes is None:
            raise RealBasicVSRError(f"a {w}x{h} frame can't be written as {self.pix_fmt} (4:2:0 needs even sizes)")
        data += b"FRAME\n" + b"".join(p.astype(p.dtype.newbyteorder("<"), copy=False).tobytes() for p in planes)
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            self._out.write(data)
            self._out.flush()
        except BrokenPipeError as e:
            _silence_stdout(self._out)
            raise ReaderClosedError(f"the reader closed the pipe after {self.count} frames (broken pipe)") from e
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        self.count += 1

    def close(self, ok: bool = True) -> None:
        """Nothing to finish: every frame was flushed whole when written (``ok`` as for ``FrameSink``)."""


def _silence_stdout(stream: BinaryIO) -> None:
    """After a broken pipe, point stdout at /dev/null so that exiting does not fail flushing it again."""
    try:
        if stream is sys.stdout.buffer:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
    except (OSError, ValueError):
        pass
