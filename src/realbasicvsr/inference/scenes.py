"""Scene cuts: shot changes found on the low-resolution frames as they stream, or read from a cut list, and
the windows that stop at them.

RealBasicVSR propagates features through the whole sequence in both directions, so at a shot change the
frames on each side would inherit features of an unrelated scene. With cuts, every shot is its own
sequence: windows never cross a cut (the backward pass and the context stop there) and the forward state is
reset at it, so a shot comes out exactly as if it had been upscaled alone.

The detector is a content detector of the kind PySceneDetect's adaptive detector is: the mean absolute
difference of consecutive frames in HSV (on frames reduced to about 128 pixels across), a cut where that
score is both high in absolute terms and several times the score of the frames around it. The neighbours
on both sides are what rejects fast pans and fades (steadily high scores) and flashes (the frame after a
flash differs as much again); it looks ``LOOKAHEAD`` frames ahead, fewer than the engine's default context.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..errors import RealBasicVSRError
from ..report import SettingError
from .engine import Window, frame_of, iter_windows

LOOKAHEAD = 2  # frames the detector reads past a candidate cut before deciding


@dataclass(frozen=True)
class DetectorSettings:
    """The content detector's thresholds (scores are HSV mean absolute differences, 0-255)."""

    min_score: float = 8.0  # a cut changes the picture at least this much
    min_histogram: float = 0.1  # ... and its colours: histogram distance (0 same, 1 disjoint), motion stays below
    ratio: float = 3.0  # ... and this many times the mean score of its neighbours
    min_shot: int = 8  # frames: no cut closer than this to the previous one
    size: int = 128  # frames are reduced to about this many pixels across first


def _reduce(frame: np.ndarray, size: int) -> np.ndarray:
    """Block-average a uint8 (H, W, 3) (or grey) frame to about ``size`` pixels across (float32)."""
    f = frame
    if f.ndim == 2:
        f = f[:, :, None]
    if f.shape[2] == 1:
        f = np.repeat(f, 3, axis=2)
    s = max(1, max(f.shape[:2]) // size)
    h, w = f.shape[0] // s * s, f.shape[1] // s * s
    return f[:h, :w].reshape(h // s, s, w // s, s, 3).mean(axis=(1, 3), dtype=np.float32)


def hsv(rgb: np.ndarray) -> np.ndarray:
    """float (H, W, 3) RGB in 0-255 -> HSV with each channel in 0-255 (hue as an angle, so 0 == 255)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    v = rgb.max(axis=-1)
    c = v - rgb.min(axis=-1)
    s = np.where(v > 0, c / np.maximum(v, 1e-6) * 255.0, 0.0)
    safe = np.maximum(c, 1e-6)
    h = np.where(v == r, (g - b) / safe, np.where(v == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = np.where(c > 0, (h / 6.0) % 1.0 * 255.0, 0.0)
    return np.stack([h, s, v], axis=-1).astype(np.float32)


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance of the 16-bin H, S and V histograms of two reduced frames, averaged over the
    channels: 0 for the same colours, 1 for disjoint ones (motion within a shot keeps it low)."""
    def hist(x: np.ndarray) -> np.ndarray:
        bins = np.minimum(x.reshape(-1, 3) * (16.0 / 256.0), 15).astype(np.int64) + np.arange(3) * 16
        return np.bincount(bins.ravel(), minlength=48) / x[..., 0].size

    return float(np.abs(hist(a) - hist(b)).sum() / 6.0)


def content_score(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute HSV difference of two reduced frames (hue compared around the circle). Hue and
    saturation differences count in proportion to the darker pixel's value: near black they are noise (the
    last frames of a fade to black would otherwise jump)."""
    d = np.abs(a - b)
    d[..., 0] = np.minimum(d[..., 0], 255.0 - d[..., 0])
    d[..., :2] *= np.minimum(a[..., 2:], b[..., 2:]) * (1.0 / 255.0)
    return float(d.mean())


class CutDetector:
    """Finds shot changes in a stream of frames, deciding each frame ``LOOKAHEAD`` frames later."""

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()

    def is_cut(self, scores: list[float], i: int, since_cut: int, flash: bool, colours: float) -> bool:
        """Whether the frame whose difference to the one before is ``scores[i]`` starts a new shot.

        ``scores`` holds up to ``LOOKAHEAD`` neighbours on each side; ``flash``: a frame after it came back
        to the picture before it, or it returns to the picture before a flash (not a new shot); ``colours``: the
        histogram distance to the frame before."""
        st = self.settings
        if since_cut < st.min_shot or scores[i] < st.min_score or flash or colours < st.min_histogram:
            return False
        around = scores[max(0, i - LOOKAHEAD):i] + scores[i + 1:i + 1 + LOOKAHEAD]
        return not around or scores[i] >= st.ratio * max(float(np.mean(around)), 1.0)

    def tag(self, items: Iterable) -> Iterator[tuple[object, bool]]:
        """(item, starts a new shot) for every item of a stream of frames or (frame, extra...) tuples."""
        buf: deque = deque()  # (item, reduced HSV frame, score against the frame before), from frame ``first``
        first = decided = last_cut = 0

        def decide() -> tuple[object, bool]:
            nonlocal first, decided, last_cut
            pos = decided - first
            scores = [s for _, _, s in buf]
            cut = False
            if decided > 0 and pos > 0 and scores[pos] >= self.settings.min_score:
                before = buf[pos - 1][1]
                ahead = [h for _, h, _ in list(buf)[pos + 1:pos + 1 + LOOKAHEAD]]
                behind = [h for _, h, _ in list(buf)[max(0, pos - LOOKAHEAD - 1):pos - 1]]
                # a flash: a frame ahead returns to the picture before, or this one returns to the one before
                # the flash (its end)
                flash = (any(content_score(h, before) < scores[pos] / 2 for h in ahead)
                         or any(content_score(buf[pos][1], h) < scores[pos] / 2 for h in behind))
                cut = self.is_cut(scores, pos, decided - last_cut, flash, histogram_distance(buf[pos][1], before))
            if cut:
                last_cut = decided
            item = buf[pos][0]
            decided += 1
            while decided - first > LOOKAHEAD + 1:  # the frames before a flash of up to two frames
                buf.popleft()
                first += 1
            return item, cut

        prev = None
        for item in items:
            cur = hsv(_reduce(frame_of(item), self.settings.size))
            buf.append((item, cur, 0.0 if prev is None else content_score(cur, prev)))
            prev = cur
            if first + len(buf) - decided > LOOKAHEAD:
                yield decide()
        while decided < first + len(buf):
            yield decide()


class Shots:
    """The shot boundaries of one video (found while it streams, or given) and the windows that stop at them.

    ``cuts`` lists the first frame of every shot but the first, in order; it grows as the stream is read
    when a detector finds them."""

    def __init__(self, detector: CutDetector | None = None, cuts: Iterable[int] = ()) -> None:
        self.detector = detector
        self.cuts: list[int] = [] if detector is not None else sorted({int(c) for c in cuts if int(c) > 0})
        self._given = set(self.cuts)

    def starts_shot(self, index: int) -> bool:
        """Whether frame ``index`` begins a shot after a cut (the forward state starts afresh there)."""
        return index in self._given or (self.detector is not None and index in self.cuts)

    def tag(self, items: Iterable) -> Iterator[tuple[object, bool]]:
        """(item, starts a new shot) for every item, recording detected cuts in ``cuts``."""
        if self.detector is None:
            for i, item in enumerate(items):
                yield item, i in self._given
            return
        for i, (item, cut) in enumerate(self.detector.tag(items)):
            if cut:
                self.cuts.append(i)
            yield item, cut

    def windows(self, items: Iterable, chunk: int, after: int, first_window: int = 0, before: int = 0) -> Iterator[Window]:
        """``iter_windows`` run shot by shot: window indices and frame indices stay absolute, but no window
        (nor its context) crosses a cut, and each shot's windows start at its first frame. Without cuts
        these are exactly ``iter_windows``' windows."""
        k0 = offset = 0  # the current shot's first window and first frame
        for shot in _split_shots(self.tag(items)):
            counted = _Counted(shot)
            for win in iter_windows(counted, chunk, after, max(0, first_window - k0), before):
                yield Window(k0 + win.index, offset + win.start, win.items, offset + win.write_start,
                             offset + win.write_stop)
            for _ in counted:  # a shot wholly before ``first_window``: read and dropped
                pass
            k0 += -(-counted.count // chunk)
            offset += counted.count


class _Counted:
    """An iterator that counts the items taken from it."""

    def __init__(self, items: Iterator) -> None:
        self._items, self.count = items, 0

    def __iter__(self) -> "_Counted":
        return self

    def __next__(self):
        item = next(self._items)
        self.count += 1
        return item


def _split_shots(tagged: Iterable[tuple[object, bool]]) -> Iterator[Iterator]:
    """Split a stream of (item, starts a shot) into one lazy iterator per shot (each read to its end before
    the next is started)."""
    it = iter(tagged)
    head: list = []
    for item, _ in it:
        head.append(item)
        break

    def shot() -> Iterator:
        yield head.pop()
        for item, cut in it:
            if cut:
                head.append(item)
                return
            yield item

    while head:
        yield shot()


def window_starts(cuts: list[int], frames: int, chunk: int) -> list[int]:
    """The first written frame of every window of a ``frames``-long video with these cuts."""
    bounds = [0, *[c for c in cuts if 0 < c < frames], frames]
    return [s for a, b in zip(bounds, bounds[1:]) for s in range(a, b, chunk)]


def split_windows(cuts: list[int], frames: int, chunk: int, rank: int, world: int) -> tuple[int, int | None]:
    """The [first, stop) windows of ``rank`` when a video is split across ``world`` ranks: an even share,
    with each boundary moved to a shot's first window when one is within a quarter of a share (a boundary
    on a cut needs no context, so the ranks compute exactly what one process does)."""
    starts = window_starts(cuts, frames, chunk)
    total = len(starts)
    shot_windows = [k for k, s in enumerate(starts) if s in set(cuts)]
    reach = total / world / 4

    def boundary(r: int) -> int:
        even = r * total // world
        if r == 0:
            return 0
        near = [k for k in shot_windows if abs(k - even) <= reach]
        return min(near, key=lambda k: (abs(k - even), k)) if near else even

    return boundary(rank), None if rank == world - 1 else boundary(rank + 1)


_TIME = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)s?$")


def parse_cut_list(text: str, rate: Fraction, source: str = "cut list") -> list[int]:
    """Frame indices of the cuts in a cut list: whitespace/comma separated entries, ``#`` comments; an
    integer is a frame index, a time (``12.5s``, ``1:02.5`` or ``0:01:02.5``) is rounded to a frame."""
    cuts = []
    for n, line in enumerate(text.splitlines(), 1):
        for entry in re.split(r"[\s,;]+", line.split("#", 1)[0].strip()):
            if not entry:
                continue
            if entry.isdigit():
                cuts.append(int(entry))
                continue
            m = _TIME.match(entry)
            if not m or (":" not in entry and not entry.endswith("s") and "." not in entry):
                raise RealBasicVSRError(f"{source} line {n}: {entry!r} is neither a frame index nor a time "
                                        "(12.5s, 1:02.5, 0:01:02.5)")
            parts = [float(p) for p in m.groups() if p is not None]
            seconds = sum(p * 60 ** (len(parts) - 1 - i) for i, p in enumerate(parts))
            cuts.append(int(round(seconds * rate)))
    return sorted({c for c in cuts if c > 0})


def shots_for(mode: str, rate: Fraction) -> Shots | None:
    """``--scene-cuts``: ``auto`` detects, ``off`` is None, anything else is a cut list file."""
    if mode == "off":
        return None
    if mode == "auto":
        return Shots(CutDetector())
    path = Path(mode)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise SettingError(f"`scene_cuts` {mode}: not auto, off or a readable cut list file ({e})") from e
    return Shots(cuts=parse_cut_list(text, rate, str(path)))


def find_cuts(frames: Iterable, detector: CutDetector | None = None) -> list[int]:
    """The cuts of a whole stream (a pre-pass: to split one video across ranks, or for ``--dry-run``)."""
    shots = Shots(detector or CutDetector())
    for _ in shots.tag(frames):
        pass
    return shots.cuts


def describe_cuts(cuts: list[int]) -> str:
    """Cuts for summaries: ``none`` or ``2 at frames 120, 348``."""
    return "none" if not cuts else f"{len(cuts)} at frame{'s' if len(cuts) > 1 else ''} {', '.join(map(str, cuts))}"
