"""Before anything runs: the settings of ``upscale``, inputs -> (input, output) jobs, this rank's share of
them, and the one way from (model, settings, input size) to an engine fitted to that size and the memory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ..checkpoint import generator_state_dict, infer_config, read_checkpoint, resolve_source
from ..cost import cost_factor, default_memory_budget, fit_window
from ..errors import RealBasicVSRError
from ..hub import DEFAULT_MODEL, MODEL_ZOO
from ..io.clips import clips_in
from ..io.frames import is_image_path, list_frame_files
from ..models import Interpolation, RealBasicVSRNet
from ..models.config import ArchConfig
from ..report import Reporter
from .engine import EngineOptions, Upscaler
from .job import OutputOptions


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


def _is_batch_folder(path: Path) -> bool:
    """A folder holding videos or frame folders (then its images are single jobs too); a folder with
    only images is one frame sequence."""
    if not path.is_dir():
        return False
    return bool(clips_in(path)) or not list_frame_files(path)


def _output_for(item: Path, out: Path, suffix: str | None) -> Path:
    """Where one input of a batch is written inside the output folder ``out``."""
    if item.is_file() and is_image_path(item):
        return out / f"{item.stem}.png"
    if item.is_dir():
        return out / (f"{item.name}{suffix}" if suffix else item.name)
    return out / f"{item.stem}{suffix or '.mp4'}"


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
        items += clips_in(p, images=True) if _is_batch_folder(p) else [p]
    if not items:
        raise RealBasicVSRError(f"no videos, images or frame folders found in {', '.join(map(str, paths))}")
    if out.exists() and not out.is_dir():
        raise RealBasicVSRError(f"several inputs need an output folder, but {out} is a file")
    suffix = ext if ext is None or ext.startswith(".") else f".{ext}"
    jobs, seen = [], set()
    for item in items:
        target = _output_for(item, out, suffix)
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


def arch_of_model(model: RealBasicVSRNet | Interpolation) -> ArchConfig:
    """Architecture of a loaded model (a RealBasicVSRNet or an Interpolation)."""
    if isinstance(model, Interpolation):
        return ArchConfig.interpolating(model.upscale, model.mode)
    return infer_config(model.state_dict())


def arch_of_source(model: str) -> ArchConfig:
    """Architecture of a zoo name or checkpoint without loading weights (the zoo entry or the tensors)."""
    if model in MODEL_ZOO and not Path(model).exists():
        return MODEL_ZOO[model].config
    path = resolve_source(model)
    return infer_config(generator_state_dict(read_checkpoint(path), source=str(path)))


def fit_engine(settings: UpscaleSettings, arch: ArchConfig, size: tuple[int, int], device_type: str) -> EngineOptions:
    """The engine options for an input of ``size`` (W, H): tile size and chunk length fitted to memory."""
    eng = settings.engine
    tile, chunk = fit_window(
        arch, size[1], size[0], eng.chunk_frames, eng.overlap, default_memory_budget(device_type), eng.tile,
        eng.tile_overlap, auto_chunk=settings.auto_chunk, auto_tile_size=settings.auto_tile, ensemble=eng.ensemble,
    )
    return replace(eng, tile=tile, chunk_frames=chunk)


def build_upscaler(model: RealBasicVSRNet | Interpolation, settings: UpscaleSettings, size: tuple[int, int],
                   device: torch.device, *, even: bool, reporter: Reporter | None = None) -> Upscaler:
    """The engine for one input of ``size`` (W, H): ``settings`` fitted to the frame size and memory, on
    ``device``, with even output sizes when ``even`` (a video)."""
    eng = fit_engine(settings, arch_of_model(model), size, device.type)
    return Upscaler(model, replace(eng, device=str(device), even_size=even), reporter)


def chunk_cost_warning(arch: ArchConfig, eng: EngineOptions, frames: int | None = None) -> str | None:
    """A warning when the chunking of a clip of ``frames`` (None: long) costs at least twice the compute
    of the whole clip at once (each chunk recomputes its context frames), else None."""
    chunk = min(eng.chunk_frames, frames or eng.chunk_frames)
    context = min(eng.overlap, max(0, (frames or chunk + eng.overlap) - chunk))
    factor = cost_factor(arch, chunk, context, frames)
    if factor < 2.0:
        return None
    return (f"`overlap` {eng.overlap} with chunks of {eng.chunk_frames} frames costs {factor:.1f}x the compute of "
            "processing the clip at once (each chunk recomputes its context frames); raise `chunk_frames`")
