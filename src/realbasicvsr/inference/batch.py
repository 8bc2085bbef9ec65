"""The ``upscale`` entry point: runs the planned jobs (this rank's share of them) and reports."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..checkpoint import load_model
from ..compare import check_compare_mode
from ..device import process_device
from ..errors import RealBasicVSRError
from ..io.pipes import is_pipe
from ..io.source import open_source
from ..io.video import check_encoder, is_video_path
from ..models import Interpolation, RealBasicVSRNet
from ..report import Reporter, SettingError, error_text, terminal_reporter
from .comparing import ComparingUpscaler
from .engine import FrameUpscaler
from .job import JobResult, output_kind, upscale_file
from .pipe import open_input, upscale_stream
from .planning import UpscaleSettings, arch_of_model, build_upscaler, chunk_cost_warning, plan_jobs, shard
from .resume import model_identity
from .scenes import describe_cuts


@dataclass
class BatchReport:
    """What a call of ``upscale`` did: the finished jobs and the failed inputs (in a batch)."""

    results: list[JobResult] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)  # settings marked: report.render_settings
    batch: bool = False  # several inputs were planned (across all ranks)

    @property
    def ok(self) -> bool:
        """No input failed."""
        return not self.failures


def _split_video_part(jobs: list[tuple[Path, Path]]) -> tuple[int, int] | None:
    """(rank, world) when torchrun runs one video: every rank then takes a share of its chunks."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and len(jobs) == 1 and is_video_path(jobs[0][1]):
        return int(os.environ.get("RANK", 0)), world
    return None


def upscale(
    inputs: list[str | os.PathLike] | str | os.PathLike,
    output: str | os.PathLike,
    settings: UpscaleSettings | None = None,
    *,
    reporter: Reporter | None = None,
) -> BatchReport:
    """Upscale videos, frame folders or images into ``output`` (see ``plan_jobs`` for naming).

    In batch mode a failing input is reported and the others still run; a single input's error raises.
    Under torchrun each rank processes its share of the inputs. Warnings, failures and progress go to
    ``reporter`` (printed on stderr by default).
    """
    settings = settings or UpscaleSettings()
    reporter = reporter or terminal_reporter()
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if settings.compare is not None:
        check_compare_mode(settings.compare)
    if is_pipe(output) or any(is_pipe(p) for p in inputs):
        return BatchReport(results=[_pipe_job(inputs, output, settings, reporter)])
    all_jobs = plan_jobs(inputs, output, settings.ext)
    for _, out in all_jobs:
        if is_video_path(out):
            check_encoder(out, settings.output.codec, settings.output.pix_fmt)
    part = _split_video_part(all_jobs)
    jobs = all_jobs if part is not None else shard(all_jobs)
    batch = len(all_jobs) > 1
    report = BatchReport(batch=batch)
    if not jobs:
        return report
    device = process_device(settings.engine.device)
    model = load_model(settings.model, dynamic_refine_thres=settings.dynamic_refine_thres)
    for inp, out in jobs:
        try:
            result = _run_job(inp, out, model, settings, device, reporter, part)
        except Exception as e:  # noqa: BLE001 - in a batch, any failure of one input must not stop the others
            if not batch:
                raise
            message = error_text(e) if isinstance(e, RealBasicVSRError) else f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
            report.failures.append((inp, message))
            reporter.log(f"failed: {inp}: {message}")
            continue
        report.results.append(result)
    return report


def _run_job(inp: Path, out: Path, model: RealBasicVSRNet | Interpolation, settings: UpscaleSettings,
             device: torch.device, reporter: Reporter, part: tuple[int, int] | None) -> JobResult:
    """One input: the engine fitted to its frame size, wrapped for ``--compare``, run by ``upscale_file``
    on the source opened once."""
    with open_source(inp, fps=settings.output.fps) as source:
        even = output_kind(source, out) == "video"
        upscaler: FrameUpscaler = build_upscaler(model, settings, source.size, device, even=even, reporter=reporter)
        warning = chunk_cost_warning(arch_of_model(model), upscaler.options)
        if warning:
            reporter.warning(warning)
        ident = {"model": model_identity(settings.model), "thres": settings.dynamic_refine_thres}
        if settings.compare:
            upscaler = ComparingUpscaler(upscaler, settings.compare, Path(str(settings.model)).name)
            ident["compare"] = settings.compare
        return upscale_file(source, out, upscaler, settings.output, identity=ident, part=part,
                            scene_cuts=settings.scene_cuts)


def _pipe_job(inputs: list, output: str | os.PathLike, settings: UpscaleSettings, reporter: Reporter) -> JobResult:
    """One input, a pipe at either end (``-``: y4m on stdin/stdout), streamed without a work folder."""
    if len(inputs) != 1 or int(os.environ.get("WORLD_SIZE", 1)) > 1:
        raise RealBasicVSRError("a pipe (-) takes exactly one input and one process (no torchrun)")
    if settings.compare is not None:
        raise SettingError("`compare` writes files; it can't be used with a pipe (-)")
    device = process_device(settings.engine.device)
    model = load_model(settings.model, dynamic_refine_thres=settings.dynamic_refine_thres)
    with open_input(str(inputs[0]), settings.output.fps) as source:
        pix_fmt = settings.output.pix_fmt or "auto"
        even = ("420" in pix_fmt or pix_fmt == "auto") if is_pipe(output) else is_video_path(output)
        upscaler = build_upscaler(model, settings, source.size, device, even=even, reporter=reporter)
        return upscale_stream(source, str(output), upscaler, settings.output, settings.scene_cuts)


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
