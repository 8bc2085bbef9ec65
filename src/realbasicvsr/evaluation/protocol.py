"""The test protocol: upscale a dataset with a model, then score it (VideoLQ: the paper's no-reference
metrics on frames 0/50/99; paired LQ/GT sets: PSNR/SSIM on every frame)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..checkpoint import load_model
from ..errors import RealBasicVSRError
from ..inference import EngineOptions, Upscaler
from ..io import open_sink
from ..io.clips import check_range, find_clips, read_clip
from ..metrics import BASELINE, FULL_REFERENCE
from ..report import SettingError
from .scoring import EvalResult, MetricSpec, load_metric_models, metric_specs, pair_references, parse_metrics, score_frame

VIDEOLQ_FRAMES = (0, 50, 99)
VIDEOLQ_METRICS = ("nrqm", "niqe", "pi", "brisque")
PAIRED_METRICS = ("psnr", "ssim")


def upscale_frames(upscaler, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Upscale a clip with an ``inference.Upscaler``'s streaming loop (its chunking options decide between
    the whole clip at once, the paper's protocol, and temporal chunks); uint8 RGB in and out."""
    return [f for chunk in upscaler.stream(frames) for f in chunk.frames]


LQ_FOLDERS = ("lq", "input", "bix4", "bdx4")
GT_FOLDERS = ("gt", "hr")


def find_subfolder(dataset: Path, given: str | os.PathLike | None, names: Sequence[str], setting: str) -> Path:
    """The LQ or GT folder of a paired dataset: ``given`` (relative to ``dataset`` or absolute), else the
    one sub-folder whose name (any case) is in ``names``."""
    if given is not None:
        path = Path(given) if Path(given).is_absolute() else dataset / given
        if not path.is_dir():
            raise SettingError(f"`{setting}` {given}: no such folder under {dataset}")
        return path
    found = [c for c in sorted(dataset.iterdir()) if c.is_dir() and c.name.lower() in names]
    if not found:
        raise SettingError(
            f"paired layout: {dataset} needs a sub-folder named {' or '.join(names)} (or name it with `{setting}`)"
        )
    if len(found) > 1:
        raise SettingError(
            f"paired layout: {dataset} has several candidates ({', '.join(c.name for c in found)}); choose with `{setting}`"
        )
    return found[0]


def run_test(
    model_source: str | os.PathLike,
    dataset: str | os.PathLike,
    *,
    layout: str = "videolq",
    metrics: Sequence[str] | None = None,
    frames: Sequence[int] | None = None,
    convention: str = "paper",
    engine=None,
    chunk_frames: int | None = None,
    overlap: int = 8,
    dynamic_refine_thres: float | None = None,
    save_dir: str | os.PathLike | None = None,
    nrqm_model: str | os.PathLike | None = None,
    lq_dir: str | os.PathLike | None = None,
    gt_dir: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = None,
    allow_partial: bool = False,
) -> EvalResult:
    """Upscale every clip of ``dataset`` with the model and score it.

    'videolq': every sub-folder (or video) is a clip; frames 0/50/99 are scored with NRQM/NIQE/PI/BRISQUE
    on Y (the paper's protocol). 'paired': ``dataset/lq/<clip>`` is upscaled and compared with
    ``dataset/gt/<clip>`` (PSNR/SSIM on Y, all frames); ``lq_dir``/``gt_dir`` name other sub-folders
    (e.g. Vid4's BIx4 and GT). ``save_dir`` keeps the upscaled frames as PNGs. ``engine``
    (``inference.EngineOptions``) sets device, precision and tiling; clips run whole unless ``chunk_frames``
    (then with ``overlap`` context frames after each chunk).
    """
    dataset = Path(dataset)
    if not dataset.is_dir():
        raise SettingError(f"`dataset` must be a folder: {dataset}")
    if layout == "videolq":
        lq_root, gt_root = dataset, None
        metrics = parse_metrics(metrics or VIDEOLQ_METRICS)
        frames = VIDEOLQ_FRAMES if frames is None else frames
    elif layout == "paired":
        lq_root = find_subfolder(dataset, lq_dir, LQ_FOLDERS, "lq")
        gt_root = find_subfolder(dataset, gt_dir, GT_FOLDERS, "gt")
        metrics = parse_metrics(metrics or PAIRED_METRICS)
    else:
        raise RealBasicVSRError(f"unknown layout {layout!r}; choose videolq or paired")
    if gt_root is None and set(metrics) & set(FULL_REFERENCE):
        raise SettingError("PSNR/SSIM need ground truth: use `layout` paired")
    if set(metrics) & set(BASELINE):
        raise SettingError("texture needs the bicubic upscale as a base: `save` the outputs, then "
                           "realbasicvsr evaluate OUT --base BICUBIC --metrics texture")
    specs = metric_specs(metrics, convention)
    extra = load_metric_models(metrics, nrqm_model)
    clips = find_clips(lq_root)
    refs = pair_references(clips, gt_root) if gt_root is not None else [None] * len(clips)
    if save_dir is not None and Path(save_dir).exists() and any(Path(save_dir).iterdir()):
        raise SettingError(f"`save` folder {save_dir} is not empty; choose a new or empty folder")
    engine = engine or EngineOptions(precision="fp32")  # the protocol's numbers are fp32 ones
    # the engine checks the schedule, before the model loads; clips run whole unless chunk_frames is given
    chunked = replace(engine, chunk_frames=chunk_frames, overlap=overlap) if chunk_frames is not None else None
    model = load_model(model_source, dynamic_refine_thres=dynamic_refine_thres)

    def upscale(lq: list[np.ndarray]) -> list[np.ndarray]:
        options = chunked or replace(engine, chunk_frames=max(1, len(lq)), overlap=overlap)
        return upscale_frames(Upscaler(model, options), lq)

    def save(name: str, lq: list[np.ndarray], sr: list[np.ndarray], gt: dict[int, np.ndarray]) -> None:
        with open_sink(Path(save_dir) / name) as sink:
            for f in sr:
                sink.write(f)

    return score_upscaled(list(zip(clips, refs)), upscale, specs, frames=frames, extra=extra,
                          allow_partial=allow_partial, progress=progress, keep=save if save_dir is not None else None)


# What :func:`score_upscaled` hands back per clip: its name, LQ frames, upscaled frames and the reference
# frames read for scoring (by index; empty without references).
KeepClip = Callable[[str, list[np.ndarray], list[np.ndarray], dict[int, np.ndarray]], None]


def score_upscaled(
    pairs: Sequence[tuple[tuple[str, Path], Path | None]],
    upscale: Callable[[list[np.ndarray]], list[np.ndarray]],
    specs: Sequence[MetricSpec],
    *,
    read: Sequence[int] | None = None,
    frames: Sequence[int] | None = None,
    extra: dict[str, dict] | None = None,
    allow_partial: bool = False,
    progress: Callable[[str], None] | None = None,
    keep: KeepClip | None = None,
    where: str = "",
) -> EvalResult:
    """Upscale each ``((name, clip), reference)`` pair and score it: the one clip-scoring loop of the test
    protocol and of validation during training.

    ``read``: the LQ frame indices to upscale (None: all); ``frames``: the upscaled frames to score (None:
    all; otherwise checked against the clip's length first); ``keep`` sees every clip once it is scored
    (saving outputs, a validation sheet); ``where`` prefixes the frame named in a scoring error."""
    result = EvalResult(list(specs), title="Clip")
    for (name, path), ref_path in pairs:
        if progress:
            progress(f"upscaling {name}")
        lq = [f for _, f in read_clip(path, read, allow_partial)]
        if frames is not None:
            check_range(path, frames, len(lq))
        sr = upscale(lq)
        picks = range(len(sr)) if frames is None else frames
        gt = dict(read_clip(ref_path, list(picks), allow_partial)) if ref_path is not None else {}
        for i in picks:
            scores = score_frame(sr[i], gt.get(i), specs, where=f"{where}{name} frame {i}", extra=extra)
            result.per_frame.append({"clip": name, "frame": i, **scores})
        if keep is not None:
            keep(name, lq, sr, gt)
    return result.finish()


def stderr_progress(message: str) -> None:
    """Progress lines for the CLI."""
    print(message, file=sys.stderr, flush=True)
