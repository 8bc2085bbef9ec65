"""Still images and folders of frames: natural-sorted listing, robust reading, PNG writing."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..errors import RealBasicVSRError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


def natural_key(name: str) -> list:
    """Sort key that orders ``frame2`` before ``frame10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def is_image_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_frame_files(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, in natural order; hidden files are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RealBasicVSRError(f"not a folder: {folder}")
    files = [p for p in folder.iterdir() if p.is_file() and is_image_path(p) and not p.name.startswith(".")]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_frames(files: Sequence[Path], indices: Sequence[int]) -> np.ndarray:
    """uint8 (len(indices), H, W, 3) RGB frames of a frame folder's ``files`` by index, all one size."""
    frames = [read_image(files[i]) for i in indices]
    for i, f in zip(indices, frames):
        if f.shape != frames[0].shape:
            raise RealBasicVSRError(
                f"{files[i]} is {f.shape[1]}x{f.shape[0]}, unlike {files[indices[0]]} "
                f"({frames[0].shape[1]}x{frames[0].shape[0]}); the frame size must not change"
            )
    return np.stack(frames)


def to_rgb8(img: np.ndarray, source: str = "image") -> np.ndarray:
    """Any decoded OpenCV image -> uint8 (H, W, 3) RGB.

    Grayscale is replicated to 3 channels, alpha is dropped (not composited), 16-bit and float data are
    scaled to 8 bits with rounding.
    """
    if img.dtype == np.uint16:
        img = ((img.astype(np.float32) / 257.0) + 0.5).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        img = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise RealBasicVSRError(f"{source}: unsupported pixel type {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    channels = img.shape[2]
    if channels == 1:
        return np.ascontiguousarray(np.repeat(img, 3, axis=2))
    if channels == 3:
        return np.ascontiguousarray(img[:, :, ::-1])
    if channels == 4:
        return np.ascontiguousarray(img[:, :, 2::-1])
    raise RealBasicVSRError(f"{source}: unsupported number of channels {channels}")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """uint8 (H, W, 3) RGB from an image file (see ``to_rgb8`` for conversions)."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise RealBasicVSRError(f"cannot read {path}: {e.strerror or e}") from e
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise RealBasicVSRError(f"{path} is not a readable image (empty, corrupt or unsupported format)")
    return to_rgb8(img, str(path))


def write_image(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write uint8 (H, W, 3) RGB; the format follows the extension (PNG for frame folders)."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix or ".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise RealBasicVSRError(f"cannot encode an image as {path.suffix}")
    try:
        buf.tofile(path)
    except OSError as e:
        raise RealBasicVSRError(f"cannot write {path}: {e.strerror or e}") from e
