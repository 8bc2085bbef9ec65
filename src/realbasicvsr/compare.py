"""Side-by-side comparison sheets: the same instants of two or more videos/folders/images in one PNG.

One column per input, one row per time; every panel is shown at the size of the largest input (smaller
ones enlarged with nearest-neighbour, so their pixels stay visible) and labelled; ``region`` crops all
panels to the same part of the picture and ``zoom`` enlarges it, to judge fine detail.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .atomic import atomic_write
from .errors import RealBasicVSRError
from .io import open_source
from .report import SettingError

_BAR = 28  # label bar height in pixels
_GAP = 6


def parse_time(text: str) -> tuple[str, float]:
    """``12.5s``, ``12.5``, ``1:02.5`` or ``01:00:02`` -> ("s", seconds); ``f30`` / ``30f`` -> ("f", 30)."""
    t = text.strip().lower()
    m = re.fullmatch(r"f(\d+)|(\d+)f", t)
    if m:
        return "f", float(m.group(1) or m.group(2))
    m = re.fullmatch(r"(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)s?", t)
    if not m:
        raise SettingError(f"`at` {text!r}: use seconds (12.5s), [hh:]mm:ss(.s) or a frame index (f30)")
    parts = [p for p in m.groups()[:2] if p is not None]
    seconds = float(m.group(3))
    for k, p in enumerate(reversed(parts)):
        seconds += int(p) * 60 ** (k + 1)
    return "s", seconds


def frames_at(path: str | os.PathLike, times: list[tuple[str, float]]) -> list[np.ndarray]:
    """The frame shown at each time (the last one whose timestamp is <= it) or with each index.

    Decodes from the start once for all the times (fine for clips; long films take a while)."""
    wanted: list[np.ndarray | None] = [None] * len(times)
    count, t_last, frame_time, done = 0, 0.0, 0.0, False
    with open_source(path) as src:
        frame_time = float(1 / src.rate)
        for index, (frame, pts) in enumerate(src.timed_frames()):
            t = float(Fraction(pts) * src.time_base)
            count, t_last, done = index + 1, t, True
            for k, (unit, value) in enumerate(times):
                if unit == "f":
                    if index == int(value):
                        wanted[k] = frame
                    done &= index >= value
                else:
                    if index == 0 or t <= value + 1e-6:  # before the first timestamp: the first frame
                        wanted[k] = frame
                    done &= t > value
            if done:
                break
    for k, (unit, value) in enumerate(times):
        beyond = unit == "s" and not done and value > t_last + frame_time
        if wanted[k] is None or beyond:
            what = f"frame {int(value)}" if unit == "f" else f"{value:g} s"
            raise RealBasicVSRError(f"{path}: no frame at {what} (it has {count} frames, {t_last + frame_time:.2f} s)")
    return wanted


def _label(panel: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((_BAR, panel.shape[1], 3), 24, np.uint8)
    scale = 0.5 if panel.shape[1] >= 160 else 0.35
    cv2.putText(bar, text, (6, _BAR - 9), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([bar, panel], axis=0)


def compare_sheet(
    inputs: list[str | os.PathLike],
    output: str | os.PathLike,
    *,
    at: list[str] | None = None,
    region: tuple[int, int, int, int] | None = None,
    zoom: int = 1,
    labels: list[str] | None = None,
    overwrite: bool = False,
) -> tuple[int, int]:
    """Write the comparison PNG and return its (width, height).

    ``region`` is (x, y, w, h) in the pixels of the largest input; ``at`` defaults to the first frame."""
    if len(inputs) < 2:
        raise RealBasicVSRError("compare needs at least two inputs")
    out = Path(output)
    if out.suffix.lower() != ".png":
        raise RealBasicVSRError(f"{out}: the sheet is a PNG (end the name in .png)")
    if out.exists() and not overwrite:
        raise SettingError(f"{out} already exists; pass `overwrite` to replace it")
    if not 1 <= zoom <= 16:
        raise SettingError("`zoom` must be between 1 and 16")
    labels = labels or [Path(p).name for p in inputs]
    if len(labels) != len(inputs):
        raise RealBasicVSRError(f"{len(labels)} labels for {len(inputs)} inputs")
    times_text = at or ["f0"]
    times = [parse_time(t) for t in times_text]
    columns = [frames_at(p, times) for p in inputs]
    h = max(f.shape[0] for col in columns for f in col)
    w = max(f.shape[1] for col in columns for f in col)
    if region is not None:
        x0, y0, rw, rh = region
        if rw < 1 or rh < 1 or x0 < 0 or y0 < 0 or x0 + rw > w or y0 + rh > h:
            raise SettingError(f"`region` {x0},{y0},{rw},{rh} is not inside the {w}x{h} frames")
    rows = []
    for r, text in enumerate(times_text):
        panels = []
        for c, col in enumerate(columns):
            f = col[r]
            if f.shape[:2] != (h, w):
                f = cv2.resize(f, (w, h), interpolation=cv2.INTER_NEAREST)
            if region is not None:
                f = f[y0 : y0 + rh, x0 : x0 + rw]
            if zoom > 1:
                f = cv2.resize(f, (f.shape[1] * zoom, f.shape[0] * zoom), interpolation=cv2.INTER_NEAREST)
            panels.append(_label(np.ascontiguousarray(f), f"{labels[c]} @ {text}"))
        gap = np.full((panels[0].shape[0], _GAP, 3), 255, np.uint8)
        rows.append(np.concatenate([p for q in panels for p in (q, gap)][:-1], axis=1))
    hgap = np.full((_GAP, rows[0].shape[1], 3), 255, np.uint8)
    sheet = np.concatenate([p for q in rows for p in (q, hgap)][:-1], axis=0)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(sheet[:, :, ::-1]))
    if not ok:
        raise RealBasicVSRError("could not encode the sheet as PNG")
    atomic_write(out, lambda tmp: buf.tofile(tmp))
    return sheet.shape[1], sheet.shape[0]


COMPARE_MODES = ("side", "stack", "split")


def check_compare_mode(mode: str) -> None:
    """Refuse a comparison layout other than those of ``COMPARE_MODES``."""
    if mode not in COMPARE_MODES:
        raise SettingError(f"`compare` {mode!r}: choose from {', '.join(COMPARE_MODES)}")


def _tag(img: np.ndarray, text: str, x: int) -> None:
    """A label in a dark box at the top of ``img``, starting at column ``x`` (drawn in place)."""
    scale = max(0.4, img.shape[1] / 1600)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(img, (x, 0), (x + tw + 12, th + 12), (24, 24, 24), -1)
    cv2.putText(img, text, (x + 6, th + 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def compose(lq: np.ndarray, out: np.ndarray, mode: str, label: str, baseline: str = "bicubic") -> np.ndarray:
    """One comparison frame: the input enlarged by bicubic to the output's size, and the output.

    side: baseline | output (twice the width); stack: baseline over output (twice the height);
    split: the left half from the baseline and the right half from the output, with a line between."""
    check_compare_mode(mode)
    h, w = out.shape[:2]
    base = cv2.resize(lq, (w, h), interpolation=cv2.INTER_CUBIC)
    if mode == "side":
        frame = np.concatenate([base, out], axis=1)
        _tag(frame, baseline, 0)
        _tag(frame, label, w)
    elif mode == "stack":
        frame = np.concatenate([base, out], axis=0)
        _tag(frame, baseline, 0)
        _tag(frame[h:], label, 0)
    else:  # split
        frame = out.copy()
        half = w // 2
        frame[:, :half] = base[:, :half]
        frame[:, max(0, half - 1) : half + 1] = 255
        _tag(frame, baseline, 0)
        _tag(frame, label, half + 2)
    return np.ascontiguousarray(frame)
