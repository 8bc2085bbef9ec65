"""``upscale --preview N``: try the settings on a few short excerpts before committing hours to a long input.

N evenly spaced excerpts (``seconds`` long each) are upscaled with exactly the settings of the full run;
each is written as ``<output stem>.preview<k><ext>`` plus its comparison with bicubic
(``<stem>.preview<k>.compare<ext>``), and the measured speed gives the projected time of the full run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..compare import compose
from ..errors import RealBasicVSRError
from ..io.source import open_sink, open_source
from ..io.video import is_video_path


@dataclass
class PreviewReport:
    excerpts: list[tuple[int, int]]  # (first frame, frames) of each excerpt
    written: list[Path]
    seconds_per_frame: float
    total_frames: int | None
    context_factor: float = 1.0  # the full run also computes each chunk's context frames

    @property
    def projected_seconds(self) -> float | None:
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


def preview(input_path, output, settings, count: int = 3, seconds: float = 1.0, log=print) -> PreviewReport:
    """Upscale ``count`` excerpts of ``input_path`` with ``settings`` (an UpscaleSettings) and report."""
    from ..checkpoint import load_model
    from .batch import arch_of_model, job_plan, rank_device
    from .engine import Upscaler, resolve_device

    if count < 1 or seconds <= 0:
        raise RealBasicVSRError("--preview needs N >= 1 and --preview-seconds > 0")
    inp, out = Path(input_path), Path(output)
    ext = out.suffix if is_video_path(out) else ".mp4"
    device = resolve_device(rank_device(settings.engine.device))
    model = load_model(settings.model, dynamic_refine_thres=settings.dynamic_refine_thres)
    label = Path(str(settings.model)).name
    o = settings.output
    stem = out.with_suffix("").name
    with open_source(inp, fps=o.fps) as src:
        total = src.num_frames
        if total is None:
            raise RealBasicVSRError(f"{inp}: its length is unknown, so excerpts can't be spaced (run without --preview)")
        length = max(2, round(float(src.rate) * seconds))
        excerpts = excerpt_starts(total, count, length)
        eng = job_plan(settings, arch_of_model(model), src.size, device.type)
        upscaler = Upscaler(model, replace(eng, device=str(device), even_size=True))
        wanted = {i: k for k, (s, n) in enumerate(excerpts) for i in range(s, s + n)}
        frames: dict[int, list] = {k: [] for k in range(len(excerpts))}
        written, busy, done_frames = [], 0.0, 0
        for i, frame in enumerate(src):
            k = wanted.get(i)
            if k is None:
                continue
            frames[k].append(frame)
            if len(frames[k]) < excerpts[k][1]:
                continue
            t0 = time.perf_counter()
            outs = upscaler(frames[k])
            busy += time.perf_counter() - t0
            done_frames += len(outs)
            plain = out.with_name(f"{stem}.preview{k + 1}{ext}")
            comp = out.with_name(f"{stem}.preview{k + 1}.compare{ext}")
            for path, items in ((plain, outs), (comp, [compose(a, b, settings.compare or "side", label)
                                                       for a, b in zip(frames[k], outs)])):
                with open_sink(path, like=src, overwrite=o.overwrite, codec=o.codec, crf=o.crf,
                               preset=o.preset, pix_fmt=o.pix_fmt) as sink:
                    for f in items:
                        sink.write(f)
                written.append(path)
            start = excerpts[k][0]
            log(f"preview {k + 1}/{len(excerpts)}: frames {start}-{start + excerpts[k][1] - 1} -> {plain.name}, {comp.name}")
            frames[k] = []
            if k == len(excerpts) - 1:
                break
    if not written:
        raise RealBasicVSRError(f"{inp}: no excerpt could be read")
    chunk = min(eng.chunk_frames, total)
    factor = min(total, chunk + eng.overlap) / chunk
    return PreviewReport(excerpts, written, busy / max(done_frames, 1), total, factor)
