"""Video files through PyAV (bundled FFmpeg): decoding to RGB frames and encoding RGB frames."""

from __future__ import annotations

import functools
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import av
import numpy as np
import torch

from ..errors import RealBasicVSRError
from ..report import SettingError
from .colour import Colour, frame_to_rgb, rgb_to_frame

__all__ = ["frame_to_rgb"]  # re-exported: decoding to RGB lives in .colour

# The one extension -> FFmpeg muxer table: which outputs are videos, and how each is written.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi",
              ".ts": "mpegts", ".m2ts": "mpegts", ".mts": "mpegts", ".flv": "flv", ".3gp": "3gp", ".ogv": "ogg",
              ".mpg": "mpeg", ".mpeg": "mpeg", ".wmv": "asf", ".gif": "gif", ".y4m": "yuv4mpegpipe"}
VIDEO_EXTENSIONS = frozenset(CONTAINERS)


def is_video_path(path: str | os.PathLike) -> bool:
    """True when the extension names a video container (how outputs choose video vs frame folder)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def open_container(path: str | os.PathLike):
    """``av.open`` for reading, with user-facing errors for missing, unreadable and non-video files."""
    path = Path(path)
    if not path.exists():
        raise RealBasicVSRError(f"no such file: {path}")
    if path.is_file() and path.stat().st_size == 0:
        raise RealBasicVSRError(f"{path} is empty")
    try:
        container = av.open(str(path), "r")
    except PermissionError as e:
        raise RealBasicVSRError(f"cannot read {path}: permission denied") from e
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise RealBasicVSRError(f"{path} is not a readable video (corrupt, truncated or not a video): {e}") from e
    if not container.streams.video:
        container.close()
        raise RealBasicVSRError(f"{path} has no video stream")
    return container


def video_fps(stream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else None


def estimate_frame_count(container, stream) -> int | None:
    """The container's frame count, else duration x rate; None when neither is known."""
    if stream.frames:
        return int(stream.frames)
    fps = video_fps(stream)
    if stream.duration is not None and stream.time_base is not None and fps:
        return int(round(float(stream.duration * stream.time_base) * fps))
    if container.duration and fps:
        return int(round(container.duration / av.time_base * fps))
    return None


class TruncatedInputError(RealBasicVSRError):
    """Decoding broke off after some frames: the file is damaged or truncated from that point on."""


def decode_frames(container, path: str = "video") -> Iterator[av.VideoFrame]:
    """Decoded frames of the first video stream.

    A stream that breaks off mid-way (truncated download, damaged tail) yields what decoded cleanly and
    then raises; a file whose very first frames cannot be decoded raises at once.
    """
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    count = 0
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                count += 1
                yield frame
    except av.error.FFmpegError as e:
        if count:
            raise TruncatedInputError(f"{path}: decoding failed after {count} frames ({e})") from e
        raise RealBasicVSRError(f"{path}: decoding failed ({e}); the file is corrupt or truncated") from e


_TEN_BIT_CODECS = ("libx264", "libx265")  # what PyAV's bundled FFmpeg encodes at 10 bits


def pick_pix_fmt(codec: str, width: int, height: int, requested: str | None, bits: int = 8) -> str:
    """``requested`` unless it is None/"auto": 4:2:0 at the input's depth (10-bit for 10/12-bit inputs,
    where the codec allows), 4:4:4 for odd frame sizes (4:2:0 needs even ones)."""
    if requested and requested != "auto":
        return requested
    ten = bits > 8 and codec in _TEN_BIT_CODECS
    if codec in ("libvpx", "libvpx-vp9", "mpeg4", "libx264", "libx265", "h264") and (width % 2 or height % 2):
        return ("yuv444p10le" if ten else "yuv444p") if codec != "mpeg4" else "yuv420p"
    return "yuv420p10le" if ten else "yuv420p"


def rate_fraction(fps: float | Fraction | None) -> Fraction:
    """A rational frame rate (30000/1001 stays exact); 25 when unknown."""
    if fps is None or fps <= 0:
        return Fraction(25)
    if isinstance(fps, Fraction):
        return fps
    for den in (1001, 1):
        num = fps * den
        if abs(num - round(num)) < 1e-3 * den:
            return Fraction(int(round(num)), den)
    return Fraction(fps).limit_denominator(100000)


def display_matrix_of(frame: av.VideoFrame) -> list[int] | None:
    """The 3x3 display matrix (rotation/flip) a decoded frame carries, as 9 int32s; None when absent."""
    for sd in frame.side_data:
        if "DISPLAYMATRIX" in str(sd.type):
            raw = bytes(sd)
            if len(raw) == 36:
                return [int(v) for v in np.frombuffer(raw, dtype="<i4")]
    return None


ENCODER_OPTIONS = {"crf": ("libx264", "libx265", "libvpx-vp9", "libsvtav1"), "preset": ("libx264", "libx265")}


class VideoEncoder:
    """Encodes RGB frames with explicit timestamps (``pts`` in ``time_base``) into one video-only file.

    ``colour`` is the *input's* colour description (None: RGB frames of images); the output gets the
    matrix that suits its size (``Colour.for_output``), converted exactly and tagged in the stream."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        codec: str = "libx264",
        rate: Fraction = Fraction(25),
        time_base: Fraction | None = None,
        crf: int | None = 18,
        preset: str | None = "medium",
        pix_fmt: str | None = None,
        fmt: str | None = None,
        colour: Colour | None = None,
    ) -> None:
        self.path = Path(path)
        self.source_colour = colour or Colour(matrix="bt601", primaries=1, trc=13)  # sRGB-like images
        self.codec, self.rate, self.crf, self.preset, self.pix_fmt = codec, rate, crf, preset, pix_fmt
        self.time_base = time_base or Fraction(1) / rate
        self.fmt = fmt
        self.container = None
        self.stream = None

    def _open(self, width: int, height: int) -> None:
        container = av.open(str(self.path), "w", format=self.fmt)
        try:
            stream = container.add_stream(self.codec, rate=self.rate)
        except (av.error.FFmpegError, ValueError) as e:
            container.close()
            raise RealBasicVSRError(f"cannot encode with codec {self.codec!r}: {e}") from e
        self.container = container
        stream.width, stream.height = width, height
        stream.pix_fmt = pick_pix_fmt(self.codec, width, height, self.pix_fmt, self.source_colour.bits)
        self.colour = self.source_colour.for_output(width, height)
        self.colour.tag(stream.codec_context)
        stream.codec_context.time_base = self.time_base
        stream.time_base = self.time_base
        opts = {}
        if self.crf is not None and self.codec in ENCODER_OPTIONS["crf"]:
            opts["crf"] = str(self.crf)
        if self.preset and self.codec in ENCODER_OPTIONS["preset"]:
            opts["preset"] = self.preset
        stream.options = opts
        self.stream = stream

    def write(self, rgb: np.ndarray, pts: int) -> None:
        if self.container is None:
            self._open(rgb.shape[1], rgb.shape[0])
        frame = rgb_to_frame(rgb, self.colour, self.stream.pix_fmt)
        frame.pts = pts
        frame.time_base = self.time_base
        try:
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
        except av.error.FFmpegError as e:
            raise RealBasicVSRError(f"encoding with {self.codec} failed: {e}") from e

    def close(self) -> None:
        if self.container is None:
            return
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
        finally:
            self.container.close()
            self.container = None


def container_format(path: str | os.PathLike) -> str | None:
    """FFmpeg muxer for a video path's extension (temporary names hide it, so it is always passed)."""
    return CONTAINERS.get(Path(path).suffix.lower())


def check_encoder(output: str | os.PathLike, codec: str, pix_fmt: str | None = None) -> None:
    """Fail before any work when ``codec`` (and ``pix_fmt``) can't be encoded into ``output``'s container."""
    import io

    try:
        av.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError) as e:
        raise RealBasicVSRError(f"unknown video encoder {codec!r} (try libx264, libx265, libvpx-vp9, mpeg4)") from e
    fmt = container_format(output)
    if fmt is None:
        return
    with av.open(io.BytesIO(), "w", format=fmt) as c:
        try:
            stream = c.add_stream(codec, rate=25)
            if pix_fmt and pix_fmt != "auto":
                stream.pix_fmt = pix_fmt
        except (av.error.FFmpegError, ValueError) as e:
            raise SettingError(f"{Path(output).suffix} files can't hold {codec} video ({e}); pick another `codec` or extension") from e


def _decode_from(container, first: int, seek: bool, fps: float):
    """(index, frame) pairs from about ``first`` on (seeking when ``seek``; LookupError when that fails)."""
    stream = container.streams.video[0]
    tb = stream.time_base
    start = stream.start_time or 0
    if seek and first > 0 and fps and tb:
        container.seek(start + int(first / fps / tb), stream=stream, backward=True)
    counter = None
    for frame in container.decode(stream):
        if seek and first > 0:
            if frame.pts is None:
                raise LookupError("no timestamps")
            index = int(round(float((frame.pts - start) * tb) * fps))
            if counter is None and index > first:
                raise LookupError("seek overshot")
            counter = index
        else:
            counter = 0 if counter is None else counter + 1
        yield counter, frame


def read_video_frames(path: Path, indices: Sequence[int], fps: float | None) -> np.ndarray:
    """uint8 (len(indices), H, W, 3) RGB frames of a video by decode-order index: seeks near the first
    (constant frame rate assumed), and decodes from the start when a seek lands past it."""

    wanted = sorted(set(int(i) for i in indices))
    if not wanted:
        raise ValueError("no frame indices")
    got: dict[int, np.ndarray] = {}
    for seek in (True, False):
        got.clear()
        try:
            with av.open(str(path)) as container:
                for index, frame in _decode_from(container, wanted[0], seek, fps or 0.0):
                    if index in wanted:
                        got[index] = frame_to_rgb(frame)
                    if index >= wanted[-1]:
                        break
            if len(got) == len(wanted):
                break
        except LookupError:
            continue
        except av.error.FFmpegError as e:
            raise RealBasicVSRError(f"{path}: decoding failed: {e}") from e
    missing = [i for i in wanted if i not in got]
    if missing:
        raise RealBasicVSRError(f"{path}: frames {missing[:3]} could not be decoded")
    return np.stack([got[int(i)] for i in indices])


@functools.lru_cache(maxsize=None)
def x264_options(encoder: str) -> dict[str, str]:
    """Private options that make libx264 repeatable: its SIMD capped at AVX2 on x86 CPUs that have AVX2.

    x264's AVX-512 code reads bytes nobody wrote on frames as small as training crops, so the same frames
    gave different bitstreams while other processes kept the cores busy (up to 4 of 60 on an AVX-512 Xeon;
    none with glibc's MALLOC_PERTURB_ set or with the SIMD capped at AVX2). Capped, an AVX-512 machine runs
    the code an AVX2 machine runs, which gives the bitstream of x264's own choice there (measured identical
    on an AVX2-only EPYC, same speed), so the training data's statistics do not move. The degradations and
    the real-world benchmark's recipes encode with it; on a Zen 4, the benchmark's small clips varied too.
    """
    if av.codec.Codec(encoder, "w").name != "libx264":
        return {}
    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        return {}  # other CPUs (ARM, older x86) have no AVX-512 path to avoid; never force flags they lack
    return {"x264-params": "asm=AVX2,Cache64"}
