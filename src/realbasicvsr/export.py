"""Exporting a model to ONNX, for runtimes outside PyTorch (ONNX Runtime, TensorRT, OpenVINO...).

The exported graph has a fixed input shape (1, T, 3, H, W): tracing unrolls the recurrent propagation over
the T frames and bakes in SPyNet's resize to multiples of 32, so T, H and W are chosen at export time
(a runtime refuses other shapes rather than computing something wrong).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from .atomic import atomic_write
from .checkpoint import load_model
from .errors import RealBasicVSRError
from .report import SettingError
from .extras import require_extra


def export_onnx(
    model_source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    frames: int = 8,
    height: int = 180,
    width: int = 320,
    opset: int = 17,
    overwrite: bool = False,
) -> Path:
    """Write ``model_source`` (zoo name or checkpoint) as ONNX taking (1, ``frames``, 3, ``height``, ``width``)
    RGB in [0, 1] (input ``lqs``) and returning the upscaled frames, not clamped (output ``sr``)."""
    out = Path(output)
    if out.suffix.lower() != ".onnx":
        raise RealBasicVSRError(f"{out}: the output of an ONNX export ends in .onnx")
    if out.exists() and not overwrite:
        raise SettingError(f"{out} already exists; pass `overwrite` to replace it")
    if frames < 2 or height < 16 or width < 16:
        raise RealBasicVSRError(f"export shape {frames}x{height}x{width}: needs at least 2 frames of 16x16")
    require_extra("onnx", "ONNX export")
    model = load_model(model_source).eval()
    example = torch.rand(1, frames, 3, height, width, generator=torch.Generator().manual_seed(0))

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on baked-in shapes: the fixed shape is the design
            torch.onnx.export(model, (example,), str(tmp), dynamo=False, opset_version=opset,
                              input_names=["lqs"], output_names=["sr"])

    try:
        return atomic_write(out, write)
    except (RuntimeError, torch.onnx.errors.OnnxExporterError) as e:  # noqa: B014 - both are raised
        raise RealBasicVSRError(f"ONNX export of {model_source} failed: {' '.join(str(e).split())[:200]}") from e
