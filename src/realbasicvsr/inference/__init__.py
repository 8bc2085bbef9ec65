"""Upscaling: streaming jobs over videos, frame folders and images, with chunking, tiling and resume."""

from .batch import BatchReport, UpscaleSettings, describe_plan, plan_jobs, summary, upscale
from .engine import EngineOptions, Upscaler, resolve_device
from .job import JobResult, OutputOptions, upscale_file

__all__ = [
    "BatchReport", "EngineOptions", "JobResult", "OutputOptions", "UpscaleSettings", "Upscaler", "describe_plan",
    "plan_jobs", "resolve_device", "summary", "upscale", "upscale_file",
]
