"""Streaming without a work folder: a frame iterator in, upscaled frames out as they are made (the Python
API), and the ``upscale - -o -`` job that runs it between a y4m pipe (``io/pipes.py``) or a file.

Memory stays flat: only the engine's current window is held; nothing is resumable (a pipe can't be read
twice), so ``--resume`` is refused.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..io.pipes import PIPE, PipeSink, PipeSource, is_pipe
from ..io.sink import open_sink
from ..io.source import open_source
from ..report import SettingError, on_progress
from ..timing import clock
from .job import JobResult, OutputOptions, _prefetch, _progress
from .scenes import shots_for


def upscale_frames(upscaler, frames: Iterable[np.ndarray], scene_cuts: str = "auto",
                   rate: Fraction = Fraction(25)) -> Iterator[np.ndarray]:
    """Upscaled frames, in order, for a stream of uint8 (H, W, 3) RGB frames, each shot its own sequence
    (``scene_cuts``: auto, off or a cut list file, whose times are read at ``rate``)."""
    for chunk in upscaler.stream(frames, shots=shots_for(scene_cuts, rate)):
        yield from chunk.frames


def open_input(path: str, fps: float | None = None):
    """A y4m pipe for ``-``, else the file/folder's ``FrameSource``."""
    return PipeSource() if is_pipe(path) else open_source(path, fps=fps)


def upscale_stream(source, output: str, upscaler, options: OutputOptions, scene_cuts: str = "auto") -> JobResult:
    """Upscale an open source into ``output`` (``-``: y4m on stdout, else a file written through a
    temporary) frame by frame; progress and warnings go to the upscaler's reporter (stderr)."""
    if options.resume:
        raise SettingError("`resume` can't be used with a pipe (- as input or output): a pipe can't be "
                           "read again; run it without `resume`")
    reporter = upscaler.reporter
    with reporter.listening(on_progress(options.on_progress)), reporter.collecting_warnings() as warnings:
        result = JobResult(source.path, Path(output), warnings=warnings)
        _stream(source, output, upscaler, options, scene_cuts, result)
    return result


def _stream(source, output: str, upscaler, options: OutputOptions, scene_cuts: str, result: JobResult) -> None:
    """``upscale_stream``'s loop, filling ``result``."""
    t0 = clock()
    shots = shots_for(scene_cuts, source.rate)
    result.cuts = shots.cuts if shots is not None else []
    if is_pipe(output):
        sink = PipeSink(source.rate, source, options.pix_fmt)
    else:
        sink = open_sink(output, fps=source.rate, like=source, overwrite=options.overwrite, codec=options.codec,
                         crf=options.crf, preset=options.preset, pix_fmt=options.pix_fmt)
    bar = _progress(source, 0, options.progress, "stdin" if is_pipe(source.path) else source.path.name)
    ok = False
    try:
        frames = _prefetch(source.timed_frames(), size=4)
        for chunk in upscaler.stream(frames, shots=shots):
            for f in chunk.frames:
                sink.write(f)
            result.frames += len(chunk.frames)
            bar.update(len(chunk.frames))
            upscaler.reporter.progress(result.frames, source.num_frames)
        ok = True
    finally:
        bar.close()
        sink.close(ok)
    for warning in source.warnings:
        upscaler.reporter.warning(warning)
    result.seconds = clock() - t0


__all__ = ["PIPE", "open_input", "upscale_frames", "upscale_stream"]
