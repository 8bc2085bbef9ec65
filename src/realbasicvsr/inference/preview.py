"""``upscale --preview N``: try the settings on a few short excerpts before committing hours to a long input.

N evenly spaced excerpts (``seconds`` long each) are upscaled with exactly the settings of the full run;
each is written as ``<output stem>.preview<k><ext>`` plus its comparison with bicubic
(``<stem>.preview<k>.compare<ext>``), and the measured speed gives the projected time of the full run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..checkpoint import load_model
from ..compare import compose
from ..device import process_device
from ..errors import RealBasicVSRError
from ..io.sink import open_sink
from ..io.source import FrameSource, open_source
from ..io.video import is_video_path
from ..report import Reporter, SettingError, terminal_reporter
from ..timing import measure
from .planning import UpscaleSettings, build_upscaler


@dataclass
class PreviewReport:
    """The excerpts written and the measured speed (the projected time of the full run)."""

    excerpts: list[tuple[int, int]]  # (first frame, frames) of each excerpt
    written: list[Path]
    seconds_per_frame: float
    total_frames: int | None
    context_factor: float = 1.0  # the full run also computes each chunk's context frames

    @property
    def projected_seconds(self) -> float | None:
        """Seconds the full run would take at the measured speed (None: the input's length is unknown)."""
        if self.total_frames is None:
            return None
        return self.seconds_per_frame * self.total_frames * self.context_factor


def excerpt_starts(total: int, count: int, length: int) -> list[tuple[int, int]]:
    """``count`` windows of ``length`` frames centred on evenly spaced points of ``total`` frames."""
    length = max(1, min(length, total))
    count = max(1, min(count, total // length))
    out = []
    for k in range(count):
        centre = (k + 0.5) * total / count
        start = int(min(max(0, round(centre - length / 2)), total - length))
        out.append((start, length))
    return out


def preview(input_path: str | os.PathLike, output: str | os.PathLike, settings: UpscaleSettings, count: int = 3,
            seconds: float = 1.0, reporter: Reporter | None = None) -> PreviewReport:
    """Upscale ``count`` excerpts of ``input_path`` with ``settings``, reporting each one written."""
    if count < 1 or seconds <= 0:
        raise SettingError("`preview` needs N >= 1 and `preview_seconds` > 0")
    reporter = reporter or terminal_reporter()
    inp, out = Path(input_path), Path(output)
    device = process_device(settings.engine.device)
    model = load_model(settings.model, dynamic_refine_thres=settings.dynamic_refine_thres)
    with open_source(inp, fps=settings.output.fps) as src:
        total = src.num_frames
        if total is None:
            raise SettingError(f"{inp}: its length is unknown, so excerpts can't be spaced (run without `preview`)")
        excerpts = excerpt_starts(total, count, max(2, round(float(src.rate) * seconds)))
        upscaler = build_upscaler(model, settings, src.size, device, even=True, reporter=reporter)
        written, busy, done_frames = [], 0.0, 0
        for k, frames in _excerpts(src, excerpts):
            outs, seconds = measure(lambda: upscaler(frames))
            busy += seconds
            done_frames += len(outs)
            written += _write_excerpt(src, out, k, frames, outs, settings)
            start = excerpts[k][0]
            reporter.log(f"preview {k + 1}/{len(excerpts)}: frames {start}-{start + excerpts[k][1] - 1} -> "
                         f"{written[-2].name}, {written[-1].name}")
    if not written:
        raise RealBasicVSRError(f"{inp}: no excerpt could be read")
    eng = upscaler.options
    chunk = min(eng.chunk_frames, total)
    factor = min(total, chunk + eng.overlap) / chunk
    return PreviewReport(excerpts, written, busy / max(done_frames, 1), total, factor)


def _excerpts(src: FrameSource, excerpts: list[tuple[int, int]]) -> Iterator[tuple[int, list[np.ndarray]]]:
    """(k, frames of excerpt k) for each excerpt, decoding the source once up to the last one."""
    wanted = {i: k for k, (s, n) in enumerate(excerpts) for i in range(s, s + n)}
    frames: dict[int, list[np.ndarray]] = {k: [] for k in range(len(excerpts))}
    for i, frame in enumerate(src):
        k = wanted.get(i)
        if k is None:
            continue
        frames[k].append(frame)
        if len(frames[k]) < excerpts[k][1]:
            continue
        yield k, frames.pop(k)
        if k == len(excerpts) - 1:
            return


def _write_excerpt(src: FrameSource, out: Path, k: int, frames: list[np.ndarray], outs: list[np.ndarray],
                   settings: UpscaleSettings) -> list[Path]:
    """Write excerpt ``k`` upscaled and as a comparison with bicubic; their paths."""
    o = settings.output
    ext = out.suffix if is_video_path(out) else ".mp4"
    stem = out.with_suffix("").name
    plain = out.with_name(f"{stem}.preview{k + 1}{ext}")
    comp = out.with_name(f"{stem}.preview{k + 1}.compare{ext}")
    label = Path(str(settings.model)).name
    compared = [compose(a, b, settings.compare or "side", label) for a, b in zip(frames, outs)]
    for path, items in ((plain, outs), (comp, compared)):
        with open_sink(path, like=src, overwrite=o.overwrite, codec=o.codec, crf=o.crf, preset=o.preset,
                       pix_fmt=o.pix_fmt) as sink:
            for f in items:
                sink.write(f)
    return [plain, comp]
