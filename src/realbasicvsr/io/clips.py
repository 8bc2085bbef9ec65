"""Finding clips: the one discovery rule every command uses (upscale batches, evaluate, test, degrade's
datasets, training data), in natural order (``clip2`` before ``clip10``).

A *clip* is a video file, a folder of image frames or (where asked for) a single image.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..errors import RealBasicVSRError
from .frames import is_image_path, list_frame_files, natural_key
from .source import open_source
from .video import is_video_path


def is_clip_folder(path: Path) -> bool:
    """A folder with image frames directly inside it."""
    return path.is_dir() and bool(list_frame_files(path))


def is_clip(path: Path, images: bool = False) -> bool:
    """A video file, a folder of frames, or (with ``images``) an image file; hidden names never count."""
    if path.name.startswith("."):
        return False
    if path.is_file():
        return is_video_path(path) or (images and is_image_path(path))
    return is_clip_folder(path)


def clips_in(folder: Path, images: bool = False) -> list[Path]:
    """The clips directly inside ``folder``, in natural order."""
    return sorted((c for c in folder.iterdir() if is_clip(c, images)), key=lambda c: natural_key(c.name))


def find_clips(path: str | os.PathLike) -> list[tuple[str, Path]]:
    """(name, path) of the clips a path means: itself if it is a file or a folder of frames, otherwise
    every clip inside it (a dataset such as VideoLQ)."""
    path = Path(path)
    if not path.exists():
        raise RealBasicVSRError(f"no such file or folder: {path}")
    if path.is_file():
        return [(path.stem, path)]
    if is_clip_folder(path):
        return [(path.name, path)]
    children = clips_in(path)
    if not children:
        raise RealBasicVSRError(f"{path} holds no frames, sub-folders of frames or videos")
    return [(c.stem if c.is_file() else c.name, c) for c in children]


def iter_clip(path: Path, frames: Sequence[int] | None, allow_partial: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """(index, uint8 RGB frame) for the chosen frames of a clip (all when ``frames`` is None), one at a
    time: a long video is never held in memory. A chosen index past the end is an error; a truncated video
    too, unless ``allow_partial`` (then its decodable frames, with the source's warning printed)."""
    wanted = None if frames is None else sorted(set(frames))
    count = 0
    with open_source(path, allow_partial=allow_partial) as src:
        if src.kind != "video":  # random access: read only the chosen frames
            picks = range(src.num_frames) if frames is None else list(frames)
            check_range(path, picks, src.num_frames)
            for i in picks:
                yield i, src.read([i])[0]
            return
        for i, frame in enumerate(src):
            count = i + 1
            if wanted is None or i in wanted:
                yield i, frame
            if wanted is not None and i >= wanted[-1]:
                return
        for w in src.warnings:
            print(f"warning: {w}", file=sys.stderr, flush=True)
    if wanted is not None:
        check_range(path, wanted, count)


def read_clip(path: Path, frames: Sequence[int] | None, allow_partial: bool = False) -> list[tuple[int, np.ndarray]]:
    """All of :func:`iter_clip` as a list."""
    return list(iter_clip(path, frames, allow_partial))


def check_range(path: Path, picks: Iterable[int], length: int) -> None:
    """A chosen frame index past the clip's end is an error naming the clip's length."""
    missing = [i for i in picks if i >= length]
    if missing:
        raise RealBasicVSRError(
            f"{path} has {length} frame{'s' if length != 1 else ''}; frame {missing[0]} does not exist"
        )
