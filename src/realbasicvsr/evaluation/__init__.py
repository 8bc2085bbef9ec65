"""Scoring clips with the official metrics, the paper's test protocol, and the result tables.

:func:`evaluate` scores the selected frames of each clip (optionally against reference clips) and returns
an :class:`EvalResult`: one row per clip (the mean over its frames), the per-frame scores and the mean
over clips. :func:`run_test` upscales a dataset with a model first. Clips are found and read by
:mod:`realbasicvsr.io.clips`, the same way every command finds them.
"""

from .protocol import (
    GT_FOLDERS, LQ_FOLDERS, PAIRED_METRICS, VIDEOLQ_FRAMES, VIDEOLQ_METRICS, find_subfolder, run_test, score_upscaled,
    stderr_progress, upscale_frames,
)
from .scoring import (
    CONVENTIONS, PAPER, EvalResult, MetricSpec, evaluate, load_metric_models, metric_specs, pair_references,
    parse_frames, parse_metrics, score_frame,
)
from .tables import format_markdown, format_summary, to_csv, to_json

__all__ = [
    "CONVENTIONS", "GT_FOLDERS", "LQ_FOLDERS", "PAIRED_METRICS", "PAPER", "VIDEOLQ_FRAMES", "VIDEOLQ_METRICS",
    "EvalResult", "MetricSpec", "evaluate", "find_subfolder", "format_markdown", "format_summary",
    "load_metric_models", "metric_specs", "pair_references", "parse_frames", "parse_metrics", "run_test",
    "score_frame", "score_upscaled", "stderr_progress", "to_csv", "to_json", "upscale_frames",
]
