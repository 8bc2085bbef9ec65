"""Scoring clips with the official metrics, the paper's test protocol, and the result tables.

A *clip* is a video file, a folder of frames or one image. :func:`evaluate` scores the selected frames of
each clip (optionally against reference clips) and returns an :class:`EvalResult`: one row per clip (the
mean over its frames), the per-frame scores and the mean over clips. :func:`run_test` upscales a dataset
with a RealBasicVSR model first (VideoLQ: the paper's protocol; paired LQ/GT sets: PSNR/SSIM).
"""

from __future__ import annotations

import csv
import io as _io
import json
import math
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .errors import RealBasicVSRError
from .io import is_image_path, is_video_path, list_frame_files, open_sink, open_source, read_image
from .metrics import ALL_METRICS, FULL_REFERENCE, FUNCTIONS, HIGHER_IS_BETTER, OFFICIAL, TEMPORAL, warping_error

# The paper's table: NRQM/NIQE/PI with the PIRM2018 code (Y of rgb2ycbcr, 4-px shave); BRISQUE on the same Y.
PAPER = {m: ("y", 4) for m in ("niqe", "brisque", "nrqm", "pi")} | {"psnr": ("y", 0), "ssim": ("y", 0),
                                                                     "warp": ("rgb", 0)}
CONVENTIONS = {"official": OFFICIAL, "paper": PAPER}
VIDEOLQ_FRAMES = (0, 50, 99)
VIDEOLQ_METRICS = ("nrqm", "niqe", "pi", "brisque")
PAIRED_METRICS = ("psnr", "ssim")
_LABEL = {"niqe": "NIQE", "brisque": "BRISQUE", "nrqm": "NRQM", "pi": "PI", "psnr": "PSNR", "ssim": "SSIM",
          "warp": "E*warp x1e-3"}
_CHANNEL_LABEL = {"gray": "gray", "y": "Y", "rgb": "RGB"}


@dataclass
class MetricSpec:
    """One metric with the channel and border crop it is computed with."""

    name: str
    channel: str
    crop_border: int

    @property
    def label(self) -> str:
        """Column title, e.g. ``NIQE (Y)``."""
        return f"{_LABEL[self.name]} ({_CHANNEL_LABEL[self.channel]})"


@dataclass
class EvalResult:
    """Scores: ``per_frame`` rows (clip, frame, metric values), ``clips`` rows (clip, frames, means), ``mean``."""

    metrics: list[MetricSpec]
    per_frame: list[dict] = field(default_factory=list)
    clips: list[dict] = field(default_factory=list)
    mean: dict = field(default_factory=dict)
    title: str = "Clip"

    def finish(self) -> "EvalResult":
        """Compute each clip's mean over its frames and the mean over clips."""
        names = [m.name for m in self.metrics]
        self.clips = []
        order: list[str] = []
        for row in self.per_frame:
            if row["clip"] not in order:
                order.append(row["clip"])
        for clip in order:
            rows = [r for r in self.per_frame if r["clip"] == clip]
            entry = {"clip": clip, "frames": len(rows)}
            entry.update({n: _mean([r[n] for r in rows]) for n in names})
            self.clips.append(entry)
        self.mean = {n: _mean([c[n] for c in self.clips]) for n in names} if self.clips else {}
        return self


def _mean(values: list[float]) -> float:
    """The mean of the values that exist (a temporal metric has none for a clip's first frame)."""
    kept = [v for v in values if not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(kept)) if kept else float("nan")


def parse_metrics(text: str | Sequence[str]) -> list[str]:
    """``'niqe,brisque'`` -> ['niqe', 'brisque'], validated and without duplicates."""
    items = [s.strip().lower() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    bad = [s for s in items if s not in ALL_METRICS]
    if bad or not items:
        raise RealBasicVSRError(
            f"unknown metric {', '.join(bad) or '(none given)'}; choose from {', '.join(ALL_METRICS)}"
        )
    return list(dict.fromkeys(items))


def parse_frames(text: str | None) -> list[int] | None:
    """``'0,50,99'`` -> [0, 50, 99]; None/'' -> None (all frames)."""
    if not text:
        return None
    try:
        frames = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as e:
        raise RealBasicVSRError(f"--frames takes comma-separated frame indices like 0,50,99, got {text!r}") from e
    if any(f < 0 for f in frames):
        raise RealBasicVSRError(f"frame indices must be >= 0, got {text!r}")
    return sorted(set(frames))


def metric_specs(
    metrics: Sequence[str], convention: str = "official", channel: str | None = None, crop_border: int | None = None
) -> list[MetricSpec]:
    """Each metric with its convention's channel/crop, overridden by ``channel``/``crop_border`` if given."""
    if convention not in CONVENTIONS:
        raise RealBasicVSRError(f"unknown convention {convention!r}; choose from {', '.join(CONVENTIONS)}")
    specs = []
    for name in metrics:
        ch, cb = CONVENTIONS[convention][name]
        specs.append(MetricSpec(name, channel or ch, cb if crop_border is None else crop_border))
    return specs


def load_metric_models(metrics: Iterable[str], nrqm_model: str | os.PathLike | None = None) -> dict[str, dict]:
    """Load (or fetch) the model files the chosen metrics need, before any long work, and return the extra
    keyword arguments per metric. ``nrqm_model``: a path for NRQM/PI instead of the default lookup."""
    names = set(metrics)
    extra: dict[str, dict] = {}
    if names & {"nrqm", "pi"}:
        from .metrics.nrqm import default_model

        model = default_model(nrqm_model)
        extra["nrqm"] = extra["pi"] = {"model": model}
    if "brisque" in names:
        from .metrics.brisque import default_model as brisque_model

        extra["brisque"] = {"model": brisque_model()}
    return extra


# --------------------------------------------------------------------------------------------- clips


def _is_clip_folder(path: Path) -> bool:
    return path.is_dir() and bool(list_frame_files(path))


def expand_clips(path: str | os.PathLike) -> list[tuple[str, Path]]:
    """(name, path) of the clips under ``path``: itself if it is an image, a video or a folder of frames;
    otherwise each sub-folder of frames and each video inside it (a dataset such as VideoLQ)."""
    path = Path(path)
    if not path.exists():
        raise RealBasicVSRError(f"no such file or folder: {path}")
    if path.is_file():
        return [(path.stem, path)]
    if _is_clip_folder(path):
        return [(path.name, path)]
    children = sorted(
        (c for c in path.iterdir() if not c.name.startswith(".") and (_is_clip_folder(c) or is_video_path(c))),
        key=lambda c: c.name,
    )
    if not children:
        raise RealBasicVSRError(f"{path} holds no frames, sub-folders of frames or videos to evaluate")
    return [(c.stem if c.is_file() else c.name, c) for c in children]


def iter_clip(path: Path, frames: Sequence[int] | None) -> Iterator[tuple[int, np.ndarray]]:
    """(index, uint8 RGB frame) for the chosen frames of a clip (all when ``frames`` is None), one at a
    time: a long video is never held in memory. A chosen index past the end is an error."""
    if path.is_dir():
        files = list_frame_files(path)
        picks = range(len(files)) if frames is None else frames
        _check_range(path, picks, len(files))
        for i in picks:
            yield i, read_image(files[i])
        return
    if is_image_path(path):
        picks = [0] if frames is None else frames
        _check_range(path, picks, 1)
        yield 0, read_image(path)
        return
    wanted = None if frames is None else set(frames)
    found = 0
    count = 0
    with open_source(path) as src:
        for i, frame in enumerate(src):
            count = i + 1
            if wanted is None or i in wanted:
                found += 1
                yield i, frame
            if wanted is not None and found == len(wanted):
                return
    if wanted is not None:
        _check_range(path, wanted, count)


def read_clip(path: Path, frames: Sequence[int] | None) -> list[tuple[int, np.ndarray]]:
    """All of :func:`iter_clip` as a list."""
    return list(iter_clip(path, frames))


def _check_range(path: Path, picks: Iterable[int], length: int) -> None:
    missing = [i for i in picks if i >= length]
    if missing:
        raise RealBasicVSRError(
            f"{path} has {length} frame{'s' if length != 1 else ''}; frame {missing[0]} does not exist"
        )


# ------------------------------------------------------------------------------------------ scoring


def score_frame(
    frame: np.ndarray,
    ref: np.ndarray | None,
    specs: Sequence[MetricSpec],
    where: str = "",
    extra: dict[str, dict] | None = None,
) -> dict[str, float]:
    """All chosen metrics of one frame (``ref`` is needed only for PSNR/SSIM; ``extra``: per-metric
    keyword arguments such as loaded models, from :func:`load_metric_models`)."""
    out = {}
    for s in specs:
        if s.name in TEMPORAL:
            continue  # scored on frame pairs by evaluate()
        fn = FUNCTIONS[s.name]
        kw = (extra or {}).get(s.name, {})
        try:
            if s.name in FULL_REFERENCE:
                if ref is None:
                    raise RealBasicVSRError(f"{s.name} needs a reference: pass --ref")
                if ref.shape != frame.shape:
                    raise RealBasicVSRError(
                        f"{where}: size {frame.shape[1]}x{frame.shape[0]} differs from the reference's "
                        f"{ref.shape[1]}x{ref.shape[0]}"
                    )
                out[s.name] = fn(frame, ref, channel=s.channel, crop_border=s.crop_border, **kw)
            else:
                out[s.name] = fn(frame, channel=s.channel, crop_border=s.crop_border, **kw)
        except RealBasicVSRError as e:
            raise RealBasicVSRError(f"{where}: {e}" if where and not str(e).startswith(where) else str(e)) from e
    return out


def pair_references(clips: list[tuple[str, Path]], ref: str | os.PathLike | None) -> list[Path | None]:
    if ref is None:
        return [None] * len(clips)
    refs = expand_clips(ref)
    if len(clips) == 1 and len(refs) == 1:
        return [refs[0][1]]
    by_name = {name: p for name, p in refs}
    missing = [name for name, _ in clips if name not in by_name]
    if missing:
        raise RealBasicVSRError(f"no reference clip named {missing[0]!r} in {ref}")
    return [by_name[name] for name, _ in clips]


def evaluate(
    paths: Sequence[str | os.PathLike],
    metrics: Sequence[str],
    *,
    ref: str | os.PathLike | None = None,
    frames: Sequence[int] | None = None,
    convention: str = "official",
    channel: str | None = None,
    crop_border: int | None = None,
    nrqm_model: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalResult:
    """Score the chosen frames of every clip under ``paths`` (see :func:`expand_clips`).

    With ``ref`` (a clip, or a folder of clips with the same names), PSNR/SSIM compare frame i with the
    reference's frame i. Convention 'official' uses each metric's official defaults, 'paper' the Y channel.
    """
    metrics = parse_metrics(metrics)
    if ref is None and set(metrics) & set(FULL_REFERENCE):
        raise RealBasicVSRError(f"{'/'.join(m for m in metrics if m in FULL_REFERENCE)} need --ref")
    specs = metric_specs(metrics, convention, channel, crop_border)
    clips: list[tuple[str, Path]] = []
    for p in paths:
        clips += expand_clips(p)
    extra = load_metric_models(metrics, nrqm_model)
    names = [n for n, _ in clips]
    if len(set(names)) != len(names):
        clips = [(str(p), p) for _, p in clips]  # same names from different folders: use full paths
    refs = pair_references(clips, ref)
    result = EvalResult(specs)
    for (name, path), ref_path in zip(clips, refs):
        if progress:
            progress(f"scoring {name}")
        refs_iter = iter_clip(ref_path, frames) if ref_path is not None else None
        prev: tuple[int, np.ndarray] | None = None
        for i, frame in iter_clip(path, frames):
            ref_frame = None
            if refs_iter is not None:
                j, ref_frame = next(refs_iter, (None, None))
                if j != i:
                    raise RealBasicVSRError(f"reference {ref_path} has fewer frames than {path}")
            scores = score_frame(frame, ref_frame, specs, where=f"{path} frame {i}", extra=extra)
            for s in specs:
                if s.name == "warp":  # against the frame before (none for the first, or after a gap)
                    consecutive = prev is not None and prev[0] == i - 1
                    scores["warp"] = (warping_error(frame, prev[1], crop_border=s.crop_border)
                                      if consecutive else float("nan"))
            prev = (i, frame)
            result.per_frame.append({"clip": name, "frame": i, **{s.name: scores[s.name] for s in specs}})
        if refs_iter is not None and next(refs_iter, None) is not None:
            raise RealBasicVSRError(f"reference {ref_path} has more frames than {path}")
    return result.finish()


# --------------------------------------------------------------------------------------------- tables


def _fmt(value: float, name: str) -> str:
    if math.isnan(value):
        return "-"
    if not math.isfinite(value):
        return "inf" if value > 0 else str(value)
    return f"{value:.4f}" if name != "brisque" else f"{value:.3f}"


def format_markdown(result: EvalResult, *, per_frame: bool = False) -> str:
    """A markdown table like the seed page's results table: one row per clip (or per frame), then the mean."""
    cols = [result.title, "Frames"] + [
        f"{s.label} {'↑' if HIGHER_IS_BETTER[s.name] else '↓'}" for s in result.metrics
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join([":---"] + [":---:"] * (len(cols) - 1)) + "|"]
    for c in result.clips:
        cells = [c["clip"], str(c["frames"])] + [_fmt(c[s.name], s.name) for s in result.metrics]
        lines.append("| " + " | ".join(cells) + " |")
        if per_frame:
            for r in (r for r in result.per_frame if r["clip"] == c["clip"]):
                cells = [f"{c['clip']} #{r['frame']}", "1"] + [_fmt(r[s.name], s.name) for s in result.metrics]
                lines.append("| " + " | ".join(cells) + " |")
    if result.clips:
        total = sum(c["frames"] for c in result.clips)
        n = len(result.clips)
        cells = [f"**mean ({n} clip{'s' if n != 1 else ''})**", str(total)] + [
            f"**{_fmt(result.mean[s.name], s.name)}**" for s in result.metrics
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def format_summary(result: EvalResult, model: str, dataset: str) -> str:
    """One-row table in the seed page's layout: ``| Model | Dataset | NRQM (Y) | NIQE (Y) | ... |``."""
    cols = ["Model", "Dataset"] + [s.label for s in result.metrics]
    cells = [model, dataset] + [_fmt(result.mean[s.name], s.name) if result.mean else "-" for s in result.metrics]
    return (
        "| " + " | ".join(cols) + " |\n"
        + "|" + "|".join([":---:"] * len(cols)) + "|\n"
        + "| " + " | ".join(cells) + " |\n"
    )


def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def to_json(result: EvalResult) -> str:
    """The full result (conventions, per-frame, per-clip, mean) as JSON; non-finite numbers as strings."""
    doc = {
        "metrics": [{"name": s.name, "channel": s.channel, "crop_border": s.crop_border} for s in result.metrics],
        "mean": {k: _jsonable(v) for k, v in result.mean.items()},
        "clips": [{k: _jsonable(v) for k, v in c.items()} for c in result.clips],
        "frames": [{k: _jsonable(v) for k, v in r.items()} for r in result.per_frame],
    }
    return json.dumps(doc, indent=2) + "\n"


def to_csv(result: EvalResult) -> str:
    """One line per scored frame, then one per clip (frame = 'mean') and the overall mean (clip = 'mean')."""
    names = [s.name for s in result.metrics]
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["clip", "frame"] + names)
    for r in result.per_frame:
        w.writerow([r["clip"], r["frame"]] + [repr(float(r[n])) for n in names])
    for c in result.clips:
        w.writerow([c["clip"], "mean"] + [repr(float(c[n])) for n in names])
    if result.clips:
        w.writerow(["mean", "mean"] + [repr(float(result.mean[n])) for n in names])
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ test run


def upscale_frames(upscaler, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Upscale a clip with an ``inference.Upscaler``'s streaming loop (its chunking options decide between
    the whole clip at once, the paper's protocol, and temporal chunks); uint8 RGB in and out."""
    return [f for chunk in upscaler.stream(frames) for f in chunk.frames]


LQ_FOLDERS = ("lq", "input", "bix4", "bdx4")
GT_FOLDERS = ("gt", "hr")


def find_subfolder(dataset: Path, given: str | os.PathLike | None, names: Sequence[str], flag: str) -> Path:
    """The LQ or GT folder of a paired dataset: ``given`` (relative to ``dataset`` or absolute), else the
    one sub-folder whose name (any case) is in ``names``."""
    if given is not None:
        path = Path(given) if Path(given).is_absolute() else dataset / given
        if not path.is_dir():
            raise RealBasicVSRError(f"{flag} {given}: no such folder under {dataset}")
        return path
    found = [c for c in sorted(dataset.iterdir()) if c.is_dir() and c.name.lower() in names]
    if not found:
        raise RealBasicVSRError(
            f"paired layout: {dataset} needs a sub-folder named {' or '.join(names)} (or name it with {flag})"
        )
    if len(found) > 1:
        raise RealBasicVSRError(
            f"paired layout: {dataset} has several candidates ({', '.join(c.name for c in found)}); choose with {flag}"
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
) -> EvalResult:
    """Upscale every clip of ``dataset`` with the model and score it.

    'videolq': every sub-folder (or video) is a clip; frames 0/50/99 are scored with NRQM/NIQE/PI/BRISQUE
    on Y (the paper's protocol). 'paired': ``dataset/lq/<clip>`` is upscaled and compared with
    ``dataset/gt/<clip>`` (PSNR/SSIM on Y, all frames); ``lq_dir``/``gt_dir`` name other sub-folders
    (e.g. Vid4's BIx4 and GT). ``save_dir`` keeps the upscaled frames as PNGs. ``engine``
    (``inference.EngineOptions``) sets device, precision and tiling; clips run whole unless ``chunk_frames``
    (then with ``overlap`` context frames after each chunk).
    """
    from .checkpoint import load_model
    from .inference import EngineOptions, Upscaler

    dataset = Path(dataset)
    if not dataset.is_dir():
        raise RealBasicVSRError(f"--dataset must be a folder: {dataset}")
    if layout == "videolq":
        lq_root, gt_root = dataset, None
        metrics = parse_metrics(metrics or VIDEOLQ_METRICS)
        frames = VIDEOLQ_FRAMES if frames is None else frames
    elif layout == "paired":
        lq_root = find_subfolder(dataset, lq_dir, LQ_FOLDERS, "--lq")
        gt_root = find_subfolder(dataset, gt_dir, GT_FOLDERS, "--gt")
        metrics = parse_metrics(metrics or PAIRED_METRICS)
    else:
        raise RealBasicVSRError(f"unknown layout {layout!r}; choose videolq or paired")
    if gt_root is None and set(metrics) & set(FULL_REFERENCE):
        raise RealBasicVSRError("PSNR/SSIM need ground truth: use --layout paired")
    specs = metric_specs(metrics, convention)
    extra = load_metric_models(metrics, nrqm_model)
    clips = expand_clips(lq_root)
    refs = pair_references(clips, gt_root) if gt_root is not None else [None] * len(clips)
    if save_dir is not None and Path(save_dir).exists() and any(Path(save_dir).iterdir()):
        raise RealBasicVSRError(f"--save folder {save_dir} is not empty; choose a new or empty folder")
    if chunk_frames is not None and (chunk_frames < 1 or overlap < 0):
        raise RealBasicVSRError("--chunk-frames must be >= 1 and --overlap >= 0")
    model = load_model(model_source, dynamic_refine_thres=dynamic_refine_thres)
    engine = engine or EngineOptions()
    result = EvalResult(specs, title="Clip")
    for (name, path), ref_path in zip(clips, refs):
        if progress:
            progress(f"upscaling {name}")
        lq = [f for _, f in read_clip(path, None)]
        if frames is not None:
            _check_range(path, frames, len(lq))
        chunk = len(lq) if chunk_frames is None else chunk_frames
        sr = upscale_frames(Upscaler(model, replace(engine, chunk_frames=max(1, chunk), overlap=overlap)), lq)
        if save_dir is not None:
            with open_sink(Path(save_dir) / name) as sink:
                for f in sr:
                    sink.write(f)
        picks = range(len(sr)) if frames is None else frames
        gt = dict(read_clip(ref_path, list(picks))) if ref_path is not None else {}
        for i in picks:
            scores = score_frame(sr[i], gt.get(i), specs, where=f"{name} frame {i}", extra=extra)
            result.per_frame.append({"clip": name, "frame": i, **scores})
    return result.finish()


def stderr_progress(message: str) -> None:
    """Progress lines for the CLI."""
    print(message, file=sys.stderr, flush=True)
