"""Per-frame scores over time as a PNG line chart (drawn with OpenCV: no plotting dependency)."""

from __future__ import annotations

import math
import os

import cv2
import numpy as np

from .atomic import atomic_write
from .errors import RealBasicVSRError

_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
_W, _H, _LEFT, _TOP, _BOTTOM = 900, 220, 70, 28, 30


def _text(img, s, xy, scale=0.45, colour=(40, 40, 40)):
    cv2.putText(img, s, xy, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def plot_per_frame(rows: list[dict], metrics: list[tuple[str, str]], path: str | os.PathLike) -> tuple[int, int]:
    """One panel per metric (``(name, label)``), one line per clip: value against frame index.

    ``rows`` are evaluate's per-frame rows (``clip``, ``frame``, one value per metric; NaN = none)."""
    clips = list(dict.fromkeys(r["clip"] for r in rows))
    if not rows:
        raise RealBasicVSRError("nothing to plot: no frames were scored")
    panels = []
    for name, label in metrics:
        img = np.full((_H, _W, 3), 255, np.uint8)
        vals = [r[name] for r in rows if math.isfinite(r[name])]
        frames = [r["frame"] for r in rows]
        x0, x1 = min(frames), max(max(frames), min(frames) + 1)
        lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        px = lambda f: int(round(_LEFT + (f - x0) / (x1 - x0) * (_W - _LEFT - 20)))  # noqa: E731
        py = lambda v: int(round(_TOP + (hi - v) / (hi - lo) * (_H - _TOP - _BOTTOM)))  # noqa: E731
        cv2.rectangle(img, (_LEFT, _TOP), (_W - 20, _H - _BOTTOM), (200, 200, 200), 1)
        _text(img, label, (_LEFT, 18), 0.5)
        for v in (lo, hi):
            _text(img, f"{v:.3g}", (4, py(v) + 5))
        for f in (x0, x1):
            _text(img, str(f), (px(f) - 8, _H - 10))
        _text(img, "frame", (_W // 2, _H - 10))
        for k, clip in enumerate(clips):
            colour = _COLOURS[k % len(_COLOURS)][::-1]
            pts = [(px(r["frame"]), py(r[name])) for r in rows if r["clip"] == clip and math.isfinite(r[name])]
            if len(pts) > 1:
                cv2.polylines(img, [np.array(pts, np.int32)], False, colour, 2, cv2.LINE_AA)
            for p in pts if len(pts) < 50 else []:
                cv2.circle(img, p, 3, colour, -1, cv2.LINE_AA)
            if k < 3:  # a legend for the first three clips
                _text(img, clip[:26], (_LEFT + 250 + 200 * k, 18), 0.4, colour)
        panels.append(img)
    sheet = np.concatenate(panels, axis=0)
    ok, buf = cv2.imencode(".png", sheet[:, :, ::-1].copy())
    if not ok:
        raise RealBasicVSRError("could not encode the plot")
    atomic_write(path, lambda tmp: buf.tofile(tmp))
    return sheet.shape[1], sheet.shape[0]
