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
from ..io import list_frame_files
from ..io.clips import clips_in
from ..io.frames import read_frames
from ..io.video import read_video_frames

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
        return read_frames(self.files, indices)

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

    def read(self, indices: Sequence[int]) -> np.ndarray:
        return read_video_frames(self.path, indices, self.fps)

    def __repr__(self) -> str:
        return f"VideoSequence({str(self.path)!r}, {self.num_frames} frames)"


def folder_sequences(root: str | os.PathLike) -> list[FolderSequence]:
    """Every sub-folder of ``root`` holding image frames (natural order)."""
    root = Path(root)
    if not root.is_dir():
        raise RealBasicVSRError(f"not a folder: {root}")
    return [FolderSequence(d) for d in clips_in(root) if d.is_dir()]


def video_sequences(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[VideoSequence]:
    """Video files: a folder (its video files, natural order), one file, or a list of files."""
    if isinstance(paths, (str, os.PathLike)):
        p = Path(paths)
        files = [f for f in clips_in(p) if f.is_file()] if p.is_dir() else [p]
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
    seqs: list[FrameSequence] = [FolderSequence(c) if c.is_dir() else VideoSequence(c) for c in clips_in(p)]
    if not seqs and list_frame_files(p):
        seqs = [FolderSequence(p)]
    if not seqs:
        raise RealBasicVSRError(f"{p} holds no videos, frame folders or frames")
    return seqs
