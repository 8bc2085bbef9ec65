"""``upscale --dry-run``: what each job would do and how long it would take, measured on this machine
(headers and a few frames are read, no weights are loaded)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..cost import gflops_per_written_frame, output_bytes, window_bytes
from ..device import process_device, resolve_precision
from ..io.source import FrameSource, open_source
from ..models.config import ArchConfig
from ..report import format_duration
from . import calibrate
from .engine import EngineOptions, output_size, tile_starts
from .job import output_kind
from .planning import UpscaleSettings, arch_of_source, chunk_cost_warning, fit_engine
from .scenes import describe_cuts, find_cuts, shots_for

Speeds = dict[tuple[int, int], tuple[float, float]]  # LR (W, H) -> (GFLOP/s, set-up seconds), measured once


@dataclass
class DryRun:
    """What ``--dry-run`` prints (settings between backquotes, for the front end to spell), and the
    estimated seconds of each job."""

    text: str
    seconds: list[float]


def dry_run(jobs: list[tuple[Path, Path]], settings: UpscaleSettings) -> DryRun:
    """Describe and time ``jobs``: the model is timed with random weights of the same architecture, the
    encoder on the input's first frames, both on this machine."""
    arch = arch_of_source(settings.model)
    device = process_device(settings.engine.device)
    engine = replace(settings.engine, device=str(device))
    precision = resolve_precision(engine.precision, device)
    speeds: Speeds = {}
    lines = [f"model {settings.model} (x{arch.upscale}, mid_channels={arch.mid_channels}, blocks="
             f"{arch.num_propagation_blocks}/{arch.num_cleaning_blocks}) on {device} {precision}; "
             f"{settings.engine.overlap} context frames after each chunk"]
    seconds: list[float] = []
    for inp, out in jobs:
        with open_source(inp, fps=settings.output.fps) as src:
            secs, job_lines = _job(src, out, settings, arch, engine, speeds)
        seconds.append(secs)
        lines += job_lines
    measured = "interpolation only" if not arch.flow else (
        "the model measured at " + ", ".join(f"~{v:.0f} GFLOP/s ({w}x{h})" for (w, h), (v, _) in speeds.items()))
    lines.append(f"total: {len(jobs)} job(s), ~{format_duration(sum(seconds))} ({measured} on this machine, plus "
                 "decoding and encoding)")
    return DryRun("\n".join(lines), seconds)


def _job(src: FrameSource, out: Path, settings: UpscaleSettings, arch: ArchConfig, engine: EngineOptions,
         speeds: Speeds) -> tuple[float, list[str]]:
    """(estimated seconds, lines) of one job; the model is timed once per tile size (kept in ``speeds``)."""
    o = settings.output
    w, h = src.size
    kind = output_kind(src, out)
    eng = fit_engine(settings, arch, (w, h), torch.device(engine.device).type)
    outscale = arch.upscale if eng.outscale is None else eng.outscale
    ow, oh = output_size(w, h, outscale, even=kind == "video")
    n = src.num_frames
    chunk = min(eng.chunk_frames, n or eng.chunk_frames)
    context = min(eng.overlap, max(0, (n or chunk + eng.overlap) - chunk))
    th, tw = (min(eng.tile, h), min(eng.tile, w)) if eng.tile else (h, w)
    tiles = len(tile_starts(h, eng.tile, eng.tile_overlap)) * len(tile_starts(w, eng.tile, eng.tile_overlap)) if eng.tile else 1
    gf = gflops_per_written_frame(arch, th, tw, chunk, context) * tiles * eng.ensemble
    if (tw, th) not in speeds:
        speeds[(tw, th)] = calibrate.model_speed(arch, replace(engine, tile=0), (tw, th))
    speed, setup = speeds[(tw, th)]
    shapes = min(2, -(-(n or 1) // chunk))  # the first window's shape, and the last one's if shorter
    secs = (gf / speed + calibrate.io_seconds_per_frame(src, kind, (ow, oh), o)) * (n or 0) + setup * shapes
    mem = (window_bytes(arch, th, tw, chunk + context) + output_bytes(h, w, chunk, arch.upscale, eng.ensemble)) / 2**30
    rate = f"{float(src.rate):.3f} fps" if src.kind == "video" else f"{float(src.rate):g} fps (frames)"
    lines = [
        f"{src.path} -> {out} [{kind}]: {n if n is not None else '?'} frames {w}x{h} -> {ow}x{oh}, {rate}; "
        f"chunks of {eng.chunk_frames}; {'tiles ' + str(eng.tile) + 'px' if eng.tile else 'no tiling'}; "
        f"{f'self-ensemble of {eng.ensemble}; ' if eng.ensemble > 1 else ''}"
        f"~{gf:.0f} GFLOP/frame, ~{mem:.1f} GiB per window, ~{format_duration(secs)}"
    ]
    warning = chunk_cost_warning(arch, eng, n)
    if warning:
        lines.append(f"warning: {warning}")
    shots = shots_for(settings.scene_cuts, src.rate)
    if shots is not None and shots.detector is not None:  # detecting reads the whole input once more
        with open_source(src.path, fps=o.fps) as whole:
            shots.cuts = find_cuts(whole, shots.detector)
    if shots is not None:
        lines.append(f"  scene cuts ({settings.scene_cuts}): {describe_cuts(shots.cuts)}")
    return secs, lines
