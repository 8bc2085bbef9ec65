"""``prepare-reds``: cut REDS ``train_sharp`` frames into overlapping sub-images (480x480, step 240).

Every crop position of a clip becomes its own sequence folder ``<clip>_s<NNN>`` (positions in raster
order from 001) holding that window of every frame under the original frame names. A clip is written
into a hidden temporary folder and moved into place only when complete, so an interrupted run can be
started again and skips finished clips.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from ..errors import RealBasicVSRError
from ..io import list_frame_files, read_image, write_image
from .sequences import folder_sequences


def crop_positions(length: int, crop: int, step: int) -> list[int]:
    """Start offsets of windows of ``crop`` every ``step``, plus one flush with the end if needed."""
    if length <= crop:
        return [0]
    pos = list(range(0, length - crop + 1, step))
    if pos[-1] + crop < length:
        pos.append(length - crop)
    return pos


def _sub_names(clip: str, count: int) -> list[str]:
    return [f"{clip}_s{i + 1:03d}" for i in range(count)]


def _clip_done(out: Path, names: list[str], num_frames: int) -> bool:
    return all((out / n).is_dir() and len(list_frame_files(out / n)) == num_frames for n in names)


def crop_clip(clip_dir: Path, out: Path, crop: int, step: int, overwrite: bool) -> int:
    """Write the sub-image sequences of one clip folder; returns how many sequences (0 if already done)."""
    files = list_frame_files(clip_dir)
    if not files:
        return 0
    h, w = read_image(files[0]).shape[:2]
    boxes = [(y, x) for y in crop_positions(h, crop, step) for x in crop_positions(w, crop, step)]
    names = _sub_names(clip_dir.name, len(boxes))
    if not overwrite and _clip_done(out, names, len(files)):
        return 0
    tmp = out / f".{clip_dir.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for n in names:
            (tmp / n).mkdir(parents=True)
        for f in files:
            img = read_image(f)
            if img.shape[:2] != (h, w):
                raise RealBasicVSRError(f"{f} is {img.shape[1]}x{img.shape[0]}, the clip's first frame {w}x{h}")
            for n, (y, x) in zip(names, boxes):
                write_image(tmp / n / f"{f.stem}.png", img[y : y + crop, x : x + crop])
        for n in names:
            shutil.rmtree(out / n, ignore_errors=True)
            os.replace(tmp / n, out / n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return len(names)


def prepare_reds_subimages(
    root: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    crop: int = 480,
    step: int = 240,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Cut every clip of ``root/train_sharp`` (or ``root`` itself if it holds the clip folders) into
    sub-image sequences under ``output`` (default ``root/train_sharp_sub``); returns the output folder."""
    root = Path(root)
    if crop < 1 or step < 1:
        raise RealBasicVSRError(f"crop and step must be positive, got {crop} and {step}")
    src = root / "train_sharp" if (root / "train_sharp").is_dir() else root
    if not src.is_dir():
        raise RealBasicVSRError(f"REDS folder not found: {root}")
    clips = [s.folder for s in folder_sequences(src)]
    if not clips:
        raise RealBasicVSRError(f"{src} holds no clip folders of frames (expected train_sharp/000/00000000.png)")
    out = Path(output) if output is not None else src.parent / f"{src.name}_sub"
    if out.resolve() == src.resolve():
        raise RealBasicVSRError("the output folder must differ from the input folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RealBasicVSRError(f"cannot create {out}: {e.strerror or e}") from e
    bar = tqdm(total=len(clips), unit="clip", disable=not progress, desc="prepare-reds")
    if workers <= 1:
        for c in clips:
            crop_clip(c, out, crop, step, overwrite)
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(crop_clip, c, out, crop, step, overwrite) for c in clips]
            for fut in futures:
                fut.result()
                bar.update()
    bar.close()
    return out
