"""The ``upscale`` entry point: expands inputs into jobs, shards them across ranks, runs and reports."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ..compare import COMPARE_MODES, ComparingUpscaler
from ..errors import RealBasicVSRError
from ..hub import DEFAULT_MODEL, MODEL_ZOO
from ..io.clips import clips_in
from ..io.frames import is_image_path, list_frame_files
from ..io.source import open_source
from ..io.video import check_encoder, is_video_path
from .engine import EngineOptions, Upscaler, auto_precision, output_size, resolve_device, tile_starts
from .job import JobResult, OutputOptions, output_kind, upscale_file
from .resume import model_identity
from .scenes import describe_cuts, find_cuts, shots_for
from ..io.pipes import is_pipe
from .pipe import open_input, upscale_stream
from ..models import Interpolation
from ..models.config import ArchConfig
from .plan import default_memory_budget, fit_window, gflops_per_frame, gflops_per_written_frame, output_bytes, window_bytes


@dataclass
class UpscaleSettings:
    """Everything ``realbasicvsr upscale`` takes besides inputs and output."""

    model: str = DEFAULT_MODEL
    dynamic_refine_thres: float | None = None
    engine: EngineOptions = field(default_factory=EngineOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
    auto_tile: bool = True  # pick a tile size when a window would not fit the memory budget
    auto_chunk: bool = True  # shrink chunks of very large frames so their upscaled outputs fit in memory
    ext: str | None = None  # batch: output extension for video/frame-folder inputs (".mp4" by default)
    compare: str | None = None  # side/stack/split: write a comparison with bicubic instead of the output
    scene_cuts: str = "auto"  # auto (detect), off, or a cut list file (see inference/scenes.py)


@dataclass
class BatchReport:
    results: list[JobResult] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    batch: bool = False  # several inputs were planned (across all ranks)

    @property
    def ok(self) -> bool:
        return not self.failures


def _is_batch_folder(path: Path) -> bool:
    """A folder holding videos or frame folders (then its images are single jobs too); a folder with
    only images is one frame sequence."""
    if not path.is_dir():
        return False
    return bool(clips_in(path)) or not list_frame_files(path)


def plan_jobs(inputs: list[str | os.PathLike], output: str | os.PathLike, ext: str | None = None) -> list[tuple[Path, Path]]:
    """(input, output) pairs. One file/frame folder maps to ``output``; several inputs, or a folder of
    videos/frame folders, map into the folder ``output`` with the inputs' names."""
    paths = [Path(p) for p in inputs]
    out = Path(output)
    for p in paths:
        if not p.exists():
            raise RealBasicVSRError(f"no such file or folder: {p}")
    if len(paths) == 1 and not _is_batch_folder(paths[0]):
        return [(paths[0], out)]
    items: list[Path] = []
    for p in paths:
        if _is_batch_folder(p):
            items += clips_in(p, images=True)
        else:
            items.append(p)
    if not items:
        raise RealBasicVSRError(f"no videos, images or frame folders found in {', '.join(map(str, paths))}")
    if out.exists() and not out.is_dir():
        raise RealBasicVSRError(f"several inputs need an output folder, but {out} is a file")
    suffix = ext if ext is None or ext.startswith(".") else f".{ext}"
    jobs, seen = [], set()
    for item in items:
        if item.is_file() and is_image_path(item):
            target = out / f"{item.stem}.png"
        elif item.is_dir():
            target = out / (f"{item.name}{suffix}" if suffix else item.name)
        else:
            target = out / f"{item.stem}{suffix or '.mp4'}"
        if target in seen:
            raise RealBasicVSRError(f"two inputs would both write {target}; rename one of them")
        seen.add(target)
        jobs.append((item, target))
    return jobs


def shard(jobs: list, rank: int | None = None, world: int | None = None) -> list:
    """This rank's share of ``jobs`` (whole inputs, round robin) under torchrun's RANK/WORLD_SIZE."""
    rank = int(os.environ.get("RANK", 0)) if rank is None else rank
    world = int(os.environ.get("WORLD_SIZE", 1)) if world is None else world
    return jobs[rank::world]


def arch_of_model(model) -> ArchConfig:
    """Architecture of a loaded model (a RealBasicVSRNet or an Interpolation)."""
    from ..checkpoint import infer_config

    if isinstance(model, Interpolation):
        return ArchConfig.interpolating(model.upscale, model.mode)
    return infer_config(model.state_dict())


def _arch_of(model: str) -> ArchConfig:
    """Architecture without loading weights (zoo entry or the checkpoint's tensors)."""
    if model in MODEL_ZOO and not Path(model).exists():
        return MODEL_ZOO[model].config
    from ..checkpoint import generator_state_dict, infer_config, read_checkpoint, resolve_source

    path = resolve_source(model)
    return infer_config(generator_state_dict(read_checkpoint(path), source=str(path)))


def rank_device(name: str) -> str:
    """Under torchrun each rank takes its own GPU (LOCAL_RANK)."""
    if name in ("auto", "cuda") and torch.cuda.is_available() and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return name


def job_plan(settings: UpscaleSettings, arch: ArchConfig, size: tuple[int, int], device_type: str) -> EngineOptions:
    """The engine options for one input: tile size and chunk length fitted to memory."""
    eng = settings.engine
    tile, chunk = fit_window(
        arch, size[1], size[0], eng.chunk_frames, eng.overlap, default_memory_budget(device_type), eng.tile,
        eng.tile_overlap, auto_chunk=settings.auto_chunk, auto_tile_size=settings.auto_tile,
    )
    return replace(eng, tile=tile, chunk_frames=chunk)


@dataclass
class Plan:
    """What ``--dry-run`` prints, and the estimated seconds of each job."""

    text: str
    seconds: list[float]


def describe_plan(jobs: list[tuple[Path, Path]], settings: UpscaleSettings) -> Plan:
    """Plan and time estimates for ``--dry-run``: reads headers and a few frames, loads no weights, and
    times the model (random weights of the same architecture) and the encoder on this machine."""
    from .calibrate import io_seconds_per_frame, model_speed

    arch = _arch_of(settings.model)
    device = resolve_device(rank_device(settings.engine.device))
    engine = replace(settings.engine, device=str(device))
    precision = auto_precision(device) if engine.precision == "auto" else engine.precision
    speeds: dict[tuple[int, int], tuple[float, float]] = {}  # (GFLOP/s, set-up s), measured once per frame size
    o = settings.output
    lines = [f"model {settings.model} (x{arch.upscale}, mid_channels={arch.mid_channels}, blocks="
             f"{arch.num_propagation_blocks}/{arch.num_cleaning_blocks}) on {device} {precision}; "
             f"{settings.engine.overlap} context frames after each chunk"]
    seconds: list[float] = []
    for inp, out in jobs:
        with open_source(inp, fps=o.fps) as src:
            w, h = src.size
            kind = output_kind(src, out)
            eng = job_plan(settings, arch, (w, h), device.type)
            outscale = arch.upscale if eng.outscale is None else eng.outscale
            ow, oh = output_size(w, h, outscale, even=kind == "video")
            n = src.num_frames
            chunk = min(eng.chunk_frames, n or eng.chunk_frames)
            context = min(eng.overlap, max(0, (n or chunk + eng.overlap) - chunk))
            window = chunk + context
            th, tw = (min(eng.tile, h), min(eng.tile, w)) if eng.tile else (h, w)
            tiles = len(tile_starts(h, eng.tile, eng.tile_overlap)) * len(tile_starts(w, eng.tile, eng.tile_overlap)) if eng.tile else 1
            gf = gflops_per_written_frame(arch, th, tw, chunk, context) * tiles
            if (tw, th) not in speeds:
                speeds[(tw, th)] = model_speed(arch, replace(engine, tile=0), (tw, th))
            speed, setup = speeds[(tw, th)]
            shapes = min(2, -(-(n or 1) // chunk))  # the first window's shape, and the last one's if shorter
            secs = (gf / speed + io_seconds_per_frame(src, kind, (ow, oh), o)) * (n or 0) + setup * shapes
            seconds.append(secs)
            mem = (window_bytes(arch, th, tw, window) + output_bytes(h, w, chunk, arch.upscale)) / 2**30
            rate = f"{float(src.rate):.3f} fps" if src.kind == "video" else f"{float(src.rate):g} fps (frames)"
            lines.append(
                f"{inp} -> {out} [{kind}]: {n if n is not None else '?'} frames {w}x{h} -> {ow}x{oh}, {rate}; "
                f"chunks of {eng.chunk_frames}; {'tiles ' + str(eng.tile) + 'px' if eng.tile else 'no tiling'}; "
                f"~{gf:.0f} GFLOP/frame, "
                f"~{mem:.1f} GiB per window, ~{format_duration(secs)}"
            )
            factor = cost_factor(arch, chunk, context, n)
            if factor >= 2.0:
                lines.append(f"warning: {chunk_cost_warning(eng, factor)}")
            shots = shots_for(settings.scene_cuts, src.rate)
            if shots is not None and shots.detector is not None:  # detecting reads the whole input once more
                with open_source(inp, fps=o.fps) as whole:
                    shots.cuts = find_cuts(whole, shots.detector)
            if shots is not None:
                lines.append(f"  scene cuts ({settings.scene_cuts}): {describe_cuts(shots.cuts)}")
    measured = "interpolation only" if not arch.flow else (
        "the model measured at " + ", ".join(f"~{v:.0f} GFLOP/s ({w}x{h})" for (w, h), (v, _) in speeds.items()))
    lines.append(f"total: {len(jobs)} job(s), ~{format_duration(sum(seconds))} ({measured} on this machine, plus "
                 "decoding and encoding)")
    return Plan("\n".join(lines), seconds)


def cost_factor(arch: ArchConfig, chunk: int, context: int, frames: int | None) -> float:
    """How many times the compute of the whole clip at once the chunking costs (context is recomputed);
    the ratio barely depends on the frame size, so it is taken at 180x320."""
    if not arch.flow:
        return 1.0
    whole = gflops_per_frame(arch, 180, 320, max(frames or chunk, 2))
    return gflops_per_written_frame(arch, 180, 320, chunk, context) / whole


def chunk_cost_warning(eng: EngineOptions, factor: float) -> str:
    return (f"--overlap {eng.overlap} with chunks of {eng.chunk_frames} frames costs {factor:.1f}x the compute of "
            "processing the clip at once (each chunk recomputes its context frames); raise --chunk-frames")


def format_duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def upscale(
    inputs: list[str | os.PathLike] | str | os.PathLike,
    output: str | os.PathLike,
    settings: UpscaleSettings | None = None,
    *,
    log=None,
) -> BatchReport:
    """Upscale videos, frame folders or images into ``output`` (see ``plan_jobs`` for naming).

    In batch mode a failing input is reported and the others still run; a single input's error raises.
    Under torchrun each rank processes its share of the inputs.
    """
    settings = settings or UpscaleSettings()
    log = log or sys.stderr
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    o = settings.output
    if settings.engine.chunk_frames < 1 or settings.engine.overlap < 0:
        raise RealBasicVSRError("--chunk-frames must be >= 1 and --overlap >= 0")
    if settings.engine.outscale is not None and not 0 < settings.engine.outscale <= 16:
        raise RealBasicVSRError("--outscale must be in (0, 16]")
    if settings.compare is not None and settings.compare not in COMPARE_MODES:
        raise RealBasicVSRError(f"--compare {settings.compare!r}: choose from {', '.join(COMPARE_MODES)}")
    if is_pipe(output) or any(is_pipe(p) for p in inputs):
        result = _pipe_job(inputs, output, settings)
        for w in result.warnings:
            print(f"warning: {w}", file=log)
        return BatchReport(results=[result])
    all_jobs = plan_jobs(inputs, output, settings.ext)
    for _, out in all_jobs:
        if is_video_path(out):
            check_encoder(out, o.codec, o.pix_fmt)
    world = int(os.environ.get("WORLD_SIZE", 1))
    # one video under torchrun: every rank takes a share of its chunks; several inputs: whole inputs per rank
    part = (int(os.environ.get("RANK", 0)), world) if world > 1 and len(all_jobs) == 1 and is_video_path(all_jobs[0][1]) else None
    jobs = all_jobs if part is not None else shard(all_jobs)
    batch = len(all_jobs) > 1
    report = BatchReport(batch=batch)
    if not jobs:
        return report
    from ..checkpoint import load_model

    device = resolve_device(rank_device(settings.engine.device))
    model = load_model(settings.model, dynamic_refine_thres=settings.dynamic_refine_thres)
    arch = arch_of_model(model)
    for inp, out in jobs:
        try:
            with open_source(inp, fps=o.fps) as src:
                size = src.size
                even = output_kind(src, out) == "video"
            eng = replace(job_plan(settings, arch, size, device.type), device=str(device), even_size=even)
            factor = cost_factor(arch, eng.chunk_frames, eng.overlap, None)
            if factor >= 2.0:
                print(f"warning: {chunk_cost_warning(eng, factor)}", file=log)
            upscaler = Upscaler(model, eng)
            ident = {"model": model_identity(settings.model), "thres": settings.dynamic_refine_thres}
            if settings.compare:
                upscaler = ComparingUpscaler(upscaler, settings.compare, Path(str(settings.model)).name)
                ident["compare"] = settings.compare
            result = upscale_file(inp, out, upscaler, o, identity=ident, part=part, scene_cuts=settings.scene_cuts)
        except Exception as e:  # noqa: BLE001 - in a batch, any failure of one input must not stop the others
            if not batch:
                raise
            message = str(e) if isinstance(e, RealBasicVSRError) else f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
            report.failures.append((inp, message))
            print(f"failed: {inp}: {message}", file=log)
            continue
        for w in result.warnings:
            print(f"warning: {w}", file=log)
        report.results.append(result)
    return report


def _pipe_job(inputs: list, output: str | os.PathLike, settings: UpscaleSettings) -> JobResult:
    """One input, a pipe at either end (``-``: y4m on stdin/stdout), streamed without a work folder."""
    if len(inputs) != 1 or int(os.environ.get("WORLD_SIZE", 1)) > 1:
        raise RealBasicVSRError("a pipe (-) takes exactly one input and one process (no torchrun)")
    if settings.compare is not None:
        raise RealBasicVSRError("--compare writes files; it can't be used with a pipe (-)")
    from ..checkpoint import load_model

    device = resolve_device(rank_device(settings.engine.device))
    model = load_model(settings.model, dynamic_refine_thres=settings.dynamic_refine_thres)
    with open_input(str(inputs[0]), settings.output.fps) as source:
        pix_fmt = settings.output.pix_fmt or "auto"
        even = ("420" in pix_fmt or pix_fmt == "auto") if is_pipe(output) else is_video_path(output)
        eng = replace(job_plan(settings, arch_of_model(model), source.size, device.type), device=str(device),
                      even_size=even)
        return upscale_stream(source, str(output), Upscaler(model, eng), settings.output, settings.scene_cuts)


def summary(report: BatchReport) -> str:
    """A few lines saying what succeeded and what failed (prefixed with the rank under torchrun)."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    tag = f"[rank {os.environ.get('RANK', 0)}/{world}] " if world > 1 else ""
    lines = []
    for r in report.results:
        fps = r.frames / r.seconds if r.seconds else 0.0
        resumed = f", {r.resumed_frames} resumed" if r.resumed_frames else ""
        lines.append(f"ok      {r.input} -> {r.output} ({r.frames} frames{resumed}, {r.seconds:.1f} s, {fps:.2f} frames/s); "
                     f"scene cuts: {describe_cuts(r.cuts)}")
    for inp, err in report.failures:
        lines.append(f"FAILED  {inp}: {err}")
    lines.append(f"{len(report.results)} succeeded, {len(report.failures)} failed")
    return "\n".join(tag + line for line in lines)
