"""Result tables: markdown (the seed page's layout), JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import math

from ..metrics import HIGHER_IS_BETTER
from .scoring import EvalResult

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
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["clip", "frame"] + names)
    for r in result.per_frame:
        w.writerow([r["clip"], r["frame"]] + [repr(float(r[n])) for n in names])
    for c in result.clips:
        w.writerow([c["clip"], "mean"] + [repr(float(c[n])) for n in names])
    if result.clips:
        w.writerow(["mean", "mean"] + [repr(float(result.mean[n])) for n in names])
    return buf.getvalue()
