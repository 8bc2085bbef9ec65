"""Generated test media: smooth moving frames, H.264/AAC videos, frame folders; a crash at a known window."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from synthetic_frames import frame  # also imported from here by the upscaling tests
from testdata import SMALL_WEIGHTS  # also imported from here by the upscaling tests

from realbasicvsr.inference import Upscaler
from realbasicvsr.io import write_image


def crash_in_window(n: int):
    """A stand-in for ``Upscaler.window`` that raises in its ``n``-th call, like a crash in the middle of a job
    (install it with ``monkeypatch.setattr(Upscaler, "window", ...)``)."""
    window, calls = Upscaler.window, []

    def crashing(self, *a, **k):
        calls.append(1)
        if len(calls) == n:
            raise RuntimeError("simulated crash")
        return window(self, *a, **k)

    return crashing


def write_video(
    path: Path,
    n: int,
    *,
    h: int = 48,
    w: int = 64,
    rate: Fraction = Fraction(30000, 1001),
    audio: bool = True,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int | None = None,
    codec: str = "libx264",
    metadata: dict | None = None,
    frames: list[np.ndarray] | None = None,
) -> Path:
    """An H.264 (default) video of ``n`` moving frames (or of ``frames``) with an optional AAC tone track."""
    c = av.open(str(path), "w")
    c.metadata.update(metadata or {})
    s = c.add_stream(codec, rate=rate)
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    if time_base is not None:
        s.codec_context.time_base = time_base
        s.time_base = time_base
    if rotation is not None:
        s.set_display_rotation(rotation)
    a = c.add_stream("aac", rate=48000) if audio else None
    for i in range(n):
        f = av.VideoFrame.from_ndarray(frame(i, h, w) if frames is None else frames[i], format="rgb24")
        f.pts = pts[i] if pts is not None else i
        if time_base is not None:
            f.time_base = time_base
        for p in s.encode(f):
            c.mux(p)
    for p in s.encode(None):
        c.mux(p)
    if a is not None:
        samples = int(48000 * n / float(rate))
        t = 0
        while t < samples:
            tone = (0.3 * np.sin(2 * np.pi * 440 * (t + np.arange(1024)) / 48000)).astype(np.float32)[None]
            af = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            af.sample_rate, af.pts = 48000, t
            t += 1024
            for p in a.encode(af):
                c.mux(p)
        for p in a.encode(None):
            c.mux(p)
    c.close()
    return path


def write_frames(folder: Path, n: int, h: int = 48, w: int = 64) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_image(folder / f"frame{i}.png", frame(i, h, w))  # natural sort needed: frame2 < frame10
    return folder


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def packets(path: Path, kind: str) -> list[tuple[int | None, bytes]]:
    with av.open(str(path)) as c:
        streams = [s for s in c.streams if s.type == kind]
        return [(p.pts, bytes(p)) for p in c.demux(streams) if p.size]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
