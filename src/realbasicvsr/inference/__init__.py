"""Upscaling: streaming jobs over videos, frame folders and images, with chunking, tiling and resume."""

from ..device import resolve_device
from .batch import BatchReport, summary, upscale
from .comparing import ComparingUpscaler
from .dryrun import DryRun, dry_run
from .engine import EngineOptions, FrameUpscaler, Upscaler
from .job import JobResult, OutputOptions, upscale_file
from .planning import UpscaleSettings, build_upscaler, plan_jobs

__all__ = [
    "BatchReport", "ComparingUpscaler", "DryRun", "EngineOptions", "FrameUpscaler", "JobResult", "OutputOptions",
    "UpscaleSettings", "Upscaler", "build_upscaler", "dry_run", "plan_jobs", "resolve_device", "summary", "upscale",
    "upscale_file",
]
