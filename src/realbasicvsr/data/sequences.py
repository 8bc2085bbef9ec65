"""Frame sequences for training: folders of frames, video files, and the REDS layout.

A sequence knows its name and length and reads any frame indices as uint8 (n, H, W, 3) RGB.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, Sequence

import av
import numpy as np

from ..errors import RealBasicVSRError
from ..io import is_video_path, list_frame_files, read_image
from ..io.colour import frame_to_rgb
from ..io.frames import natural_key

# The four REDS clips held out for validation (REDS4); never used for training.
REDS4_CLIPS = ("000", "011", "015", "020")


class FrameSequence(Protocol):
    """Something that holds ``num_frames`` frames and reads them by index."""

    name: str
    num_frames: int

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """uint8 (len(indices), H, W, 3) RGB frames."""
        ...


class FolderSequence:
    """A folder of image frames in natural order (``00000000.png``, ...)."""

    def __init__(self, folder: str | os.PathLike, name: str | None = None) -> None:
        self.folder = Path(folder)
        self.files = list_frame_files(self.folder)
        self.name = name or self.folder.name
        self.num_frames = len(self.files)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        frames = [read_image(self.files[i]) for i in indices]
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise RealBasicVSRError(f"{self.folder}: frames have different sizes {sorted(shapes)}")
        return np.stack(frames)

    def __repr__(self) -> str:
        return f"FolderSequence({str(self.folder)!r}, {self.num_frames} frames)"


def _count_packets(path: Path) -> tuple[int, float]:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise RealBasicVSRError(f"{path} has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            count = sum(1 for p in container.demux(stream) if p.size)
    except av.error.FFmpegError as e:
        raise RealBasicVSRError(f"{path} is not a readable video: {e}") from e
    return count, float(rate) if rate else 0.0


class VideoSequence:
    """A video file read with PyAV; frames are addressed by decode order (constant frame rate assumed
    for seeking; a seek that lands after the wanted frame falls back to decoding from the start)."""

    def __init__(self, path: str | os.PathLike, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self.num_frames, self.fps = _count_packets(self.path)
        if self.num_frames == 0:
            raise RealBasicVSRError(f"{self.path} has no video frames")

    def _decode(self, container, first: int, seek: bool):
        """(index, frame) pairs from about ``first`` on."""
        stream = container.streams.video[0]
        tb = stream.time_base
        start = stream.start_time or 0
        if seek and first > 0 and self.fps and tb:
            container.seek(start + int(first / self.fps / tb), stream=stream, backward=True)
        counter = None
        for frame in container.decode(stream):
            if seek and first > 0:
                if frame.pts is None:
                    raise LookupError("no timestamps")
                index = int(round(float((frame.pts - start) * tb) * self.fps))
                if counter is None and index > first:
                    raise LookupError("seek overshot")
                counter = index
            else:
                counter = 0 if counter is None else counter + 1
            yield counter, frame

    def read(self, indices: Sequence[int]) -> np.ndarray:
        wanted = sorted(set(int(i) for i in indices))
        if not wanted:
            raise ValueError("no frame indices")
        got: dict[int, np.ndarray] = {}
        for seek in (True, False):
            got.clear()
            try:
                with av.open(str(self.path)) as container:
                    for index, frame in self._decode(container, wanted[0], seek):
                        if index in wanted:
                            got[index] = frame_to_rgb(frame)
                        if index >= wanted[-1]:
                            break
                if len(got) == len(wanted):
                    break
            except LookupError:
                continue
            except av.error.FFmpegError as e:
                raise RealBasicVSRError(f"{self.path}: decoding failed: {e}") from e
        missing = [i for i in wanted if i not in got]
        if missing:
            raise RealBasicVSRError(f"{self.path}: frames {missing[:3]} could not be decoded")
        return np.stack([got[int(i)] for i in indices])

    def __repr__(self) -> str:
        return f"VideoSequence({str(self.path)!r}, {self.num_frames} frames)"


def folder_sequences(root: str | os.PathLike) -> list[FolderSequence]:
    """Every sub-folder of ``root`` holding image frames (sub-folder names in natural order)."""
    root = Path(root)
    if not root.is_dir():
        raise RealBasicVSRError(f"not a folder: {root}")
    dirs = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")),
                  key=lambda d: natural_key(d.name))
    seqs = [FolderSequence(d) for d in dirs]
    return [s for s in seqs if s.num_frames > 0]


def video_sequences(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[VideoSequence]:
    """Video files: a folder (its video files, natural order), one file, or a list of files."""
    if isinstance(paths, (str, os.PathLike)):
        p = Path(paths)
        if p.is_dir():
            files = sorted((f for f in p.iterdir() if f.is_file() and is_video_path(f) and not f.name.startswith(".")),
                           key=lambda f: natural_key(f.name))
        else:
            files = [p]
    else:
        files = [Path(f) for f in paths]
    return [VideoSequence(f) for f in files]


def reds_sequences(root: str | os.PathLike, split: str = "train") -> list[FolderSequence]:
    """REDS clips: ``train`` = all but REDS4 (000, 011, 015, 020), ``val`` = REDS4 only, ``all`` = both.

    ``root`` is the REDS folder (using ``train_sharp_sub`` from ``prepare-reds`` if present, else
    ``train_sharp``) or one of those folders itself. Sub-image folders ``000_s001`` count as clip 000.
    """
    if split not in ("train", "val", "all"):
        raise ValueError(f"split must be train, val or all, got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise RealBasicVSRError(f"REDS folder not found: {root}")
    base = next((root / n for n in ("train_sharp_sub", "train_sharp") if (root / n).is_dir()), root)
    seqs = folder_sequences(base)
    if not seqs:
        raise RealBasicVSRError(f"{base} holds no clip folders of frames (expected train_sharp/000/00000000.png)")

    def keep(name: str) -> bool:
        held_out = name.split("_s")[0] in REDS4_CLIPS
        return split == "all" or (held_out if split == "val" else not held_out)

    return [s for s in seqs if keep(s.name)]


def find_sequences(path: str | os.PathLike) -> list[FrameSequence]:
    """Training sequences from a path: the REDS layout (training split), a folder of video files, a
    folder of frame folders, one video file or one folder of frames."""
    p = Path(path)
    if not p.exists():
        raise RealBasicVSRError(f"no such file or folder: {p}")
    if p.is_file():
        return list(video_sequences(p))
    if (p / "train_sharp").is_dir() or (p / "train_sharp_sub").is_dir():
        return list(reds_sequences(p))
    videos = video_sequences(p)
    folders = folder_sequences(p)
    seqs: list[FrameSequence] = [*folders, *videos]
    if not seqs and list_frame_files(p):
        seqs = [FolderSequence(p)]
    if not seqs:
        raise RealBasicVSRError(f"{p} holds no videos, frame folders or frames")
    return seqs
