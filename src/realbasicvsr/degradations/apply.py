"""Degrade a clean video or frame folder into realistic LQ frames on disk (``realbasicvsr degrade``).

The whole input is one clip of the stochastic scheme: discrete choices are drawn once, continuous
parameters walk frame by frame across the windows the input is processed in, so memory stays bounded by
one window however long the input is. One LQ frame is written per input frame (no mirroring).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from ..atomic import write_text_atomic
from ..errors import RealBasicVSRError
from ..io import open_sink, open_source
from ..report import SettingError
from .config import DegradationConfig, load_degradation_config
from .ops import to_uint8
from .pipeline import ClipDegrader, DegradationPipeline


def degrade_video(
    input: str | os.PathLike,
    output: str | os.PathLike,
    *,
    seed: int,
    scale: int | None = None,
    config: DegradationConfig | str | os.PathLike | None = None,
    window: int = 30,
    sharpen: bool = True,
    overwrite: bool = False,
    params_json: str | os.PathLike | None = None,
    progress: bool = False,
    warn: Callable[[str], None] | None = None,
) -> int:
    """Write the LQ version of ``input`` (video, frame folder or image) to ``output``; returns frames written.

    ``scale`` overrides the config's (output size = input size // scale, rounded down). ``sharpen``
    degrades the unsharp-masked frames like the training recipe (off: the frames as they are).
    ``config`` is a DegradationConfig or a TOML path (default: the seed recipe). ``params_json``
    receives everything that was drawn (choices and per-frame parameters). A truncated video input is
    degraded up to its last decodable frame; ``warn`` (default: stderr) is told how many frames were read.
    """
    if config is None or isinstance(config, (str, os.PathLike)):
        config = load_degradation_config(config)
    if scale is not None:
        if scale < 1:
            raise SettingError(f"`scale` must be an integer >= 1, got {scale}")
        config = dataclasses.replace(config, scale=int(scale))
    if window < 1:
        raise RealBasicVSRError(f"the window must hold at least one frame, got {window}")
    pipeline = DegradationPipeline(config)
    rng = np.random.default_rng(seed)
    written = 0
    with open_source(input) as source:
        w, h = source.size
        if min(h, w) < config.scale:
            raise RealBasicVSRError(f"{input}: frames of {w}x{h} are smaller than the scale {config.scale}")
        degrader = pipeline.new_clip(rng, (h, w))
        with open_sink(output, like=source, overwrite=overwrite) as sink, tqdm(
            total=source.num_frames, unit="frame", disable=not progress, desc="degrade"
        ) as bar:
            batch: list[np.ndarray] = []

            def flush() -> int:
                clip = np.stack(batch).astype(np.float32) / 255.0
                lq = degrader(pipeline.sharpen(clip) if sharpen else clip)
                for frame in lq:
                    sink.write(to_uint8(frame))
                bar.update(len(batch))
                batch.clear()
                return len(lq)

            for frame in source:
                batch.append(frame)
                if len(batch) == window:
                    written += flush()
            if batch:
                written += flush()
        for message in source.warnings:
            (warn or _stderr_warning)(message)
    if params_json is not None:
        _write_params(Path(params_json), degrader, seed, config, sharpen)
    return written


def _stderr_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _write_params(path: Path, degrader: ClipDegrader, seed: int, config: DegradationConfig, sharpen: bool) -> None:
    doc = {"seed": seed, "sharpen": sharpen, "config": config.to_dict(), "drawn": degrader.summary()}
    write_text_atomic(path, json.dumps(doc, indent=1))
