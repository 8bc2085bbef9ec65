"""Scoring clips: which metrics, on which channel and crop (the conventions), and the per-frame, per-clip
and mean scores of :func:`evaluate`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..errors import RealBasicVSRError
from ..io.clips import find_clips, iter_clip
from ..metrics import ALL_METRICS, BASELINE, FULL_REFERENCE, FUNCTIONS, OFFICIAL, TEMPORAL, warping_error
from ..metrics.brisque import default_model as brisque_model
from ..metrics.nrqm import default_model as default_nrqm_model
from ..report import SettingError, error_text

# The paper's table: NRQM/NIQE/PI with the PIRM2018 code (Y of rgb2ycbcr, 4-px shave); BRISQUE on the same Y.
PAPER = {m: ("y", 4) for m in ("niqe", "brisque", "nrqm", "pi")} | {"psnr": ("y", 0), "ssim": ("y", 0),
                                                                     "warp": ("rgb", 0), "texture": ("y", 0)}
CONVENTIONS = {"official": OFFICIAL, "paper": PAPER}
_LABEL = {"niqe": "NIQE", "brisque": "BRISQUE", "nrqm": "NRQM", "pi": "PI", "psnr": "PSNR", "ssim": "SSIM",
          "warp": "E*warp x1e-3", "texture": "Invented texture"}
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
        raise SettingError(f"`frames` takes comma-separated frame indices like 0,50,99, got {text!r}") from e
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
        model = default_nrqm_model(nrqm_model)
        extra["nrqm"] = extra["pi"] = {"model": model}
    if "brisque" in names:
        extra["brisque"] = {"model": brisque_model()}
    return extra


def score_frame(
    frame: np.ndarray,
    ref: np.ndarray | None,
    specs: Sequence[MetricSpec],
    where: str = "",
    extra: dict[str, dict] | None = None,
    base: np.ndarray | None = None,
) -> dict[str, float]:
    """All chosen metrics of one frame (``ref`` is needed only for PSNR/SSIM, ``base``, the bicubic upscale
    of the same input, only for texture; ``extra``: per-metric keyword arguments such as loaded models,
    from :func:`load_metric_models`)."""
    out = {}
    for s in specs:
        if s.name in TEMPORAL:
            continue  # scored on frame pairs by evaluate()
        fn = FUNCTIONS[s.name]
        kw = (extra or {}).get(s.name, {})
        try:
            if s.name in FULL_REFERENCE:
                if ref is None:
                    raise SettingError(f"{s.name} needs a reference: pass `ref`")
                if ref.shape != frame.shape:
                    raise RealBasicVSRError(
                        f"{where}: size {frame.shape[1]}x{frame.shape[0]} differs from the reference's "
                        f"{ref.shape[1]}x{ref.shape[0]}"
                    )
                out[s.name] = fn(frame, ref, channel=s.channel, crop_border=s.crop_border, **kw)
            elif s.name in BASELINE:
                if base is None:
                    raise SettingError(f"{s.name} needs the bicubic upscale of the same input: pass `base`")
                out[s.name] = fn(frame, base, channel=s.channel, crop_border=s.crop_border, **kw)
            else:
                out[s.name] = fn(frame, channel=s.channel, crop_border=s.crop_border, **kw)
        except RealBasicVSRError as e:
            text = error_text(e)  # settings still marked, so the front end can spell them
            cls = SettingError if isinstance(e, SettingError) else RealBasicVSRError
            raise cls(f"{where}: {text}" if where and not text.startswith(where) else text) from e
    return out


def pair_references(clips: list[tuple[str, Path]], ref: str | os.PathLike | None) -> list[Path | None]:
    if ref is None:
        return [None] * len(clips)
    refs = find_clips(ref)
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
    base: str | os.PathLike | None = None,
    frames: Sequence[int] | None = None,
    convention: str = "official",
    channel: str | None = None,
    crop_border: int | None = None,
    nrqm_model: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = None,
    allow_partial: bool = False,
) -> EvalResult:
    """Score the chosen frames of every clip under ``paths`` (see :func:`expand_clips`).

    With ``ref`` (a clip, or a folder of clips with the same names), PSNR/SSIM compare frame i with the
    reference's frame i; with ``base`` (the bicubic upscales of the same inputs, paired the same way), texture
    compares frame i with the base's frame i. Convention 'official' uses each metric's official defaults,
    'paper' the Y channel.
    A truncated video is an error (a score over part of a clip looks like one over all of it) unless
    ``allow_partial``: then its decodable frames are scored, with a warning.
    """
    metrics = parse_metrics(metrics)
    if ref is None and set(metrics) & set(FULL_REFERENCE):
        raise SettingError(f"{'/'.join(m for m in metrics if m in FULL_REFERENCE)} need `ref`")
    if base is None and set(metrics) & set(BASELINE):
        raise SettingError("texture needs `base`: the bicubic upscale of the same input at the same scale")
    specs = metric_specs(metrics, convention, channel, crop_border)
    clips: list[tuple[str, Path]] = []
    for p in paths:
        clips += find_clips(p)
    extra = load_metric_models(metrics, nrqm_model)
    names = [n for n, _ in clips]
    if len(set(names)) != len(names):
        clips = [(str(p), p) for _, p in clips]  # same names from different folders: use full paths
    refs = pair_references(clips, ref)
    bases = pair_references(clips, base) if set(metrics) & set(BASELINE) else [None] * len(clips)
    result = EvalResult(specs)
    for (name, path), ref_path, base_path in zip(clips, refs, bases):
        if progress:
            progress(f"scoring {name}")
        refs_iter = iter_clip(ref_path, frames, allow_partial) if ref_path is not None else None
        bases_iter = iter_clip(base_path, frames, allow_partial) if base_path is not None else None
        prev: tuple[int, np.ndarray] | None = None
        for i, frame in iter_clip(path, frames, allow_partial):
            ref_frame = base_frame = None
            if refs_iter is not None:
                j, ref_frame = next(refs_iter, (None, None))
                if j != i:
                    raise RealBasicVSRError(f"reference {ref_path} has fewer frames than {path}")
            if bases_iter is not None:
                j, base_frame = next(bases_iter, (None, None))
                if j != i:
                    raise RealBasicVSRError(f"base {base_path} has fewer frames than {path}")
            scores = score_frame(frame, ref_frame, specs, where=f"{path} frame {i}", extra=extra,
                                 base=base_frame)
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
