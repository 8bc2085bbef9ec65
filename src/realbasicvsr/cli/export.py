"""``realbasicvsr export onnx MODEL OUT.onnx``: the model as an ONNX graph of a fixed input shape."""

from __future__ import annotations

import argparse
import sys

from ..errors import RealBasicVSRError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a model to ONNX (fixed frames and size, chosen here)",
        description="Export a model-zoo name or checkpoint as ONNX. The graph takes lqs = (1, T, 3, H, W) RGB in "
        "[0, 1] and returns sr = (1, T, 3, sH, sW), not clamped. T, H and W are fixed at export (tracing "
        "unrolls the recurrence over T and bakes in SPyNet's resizing); export once per shape you run.",
    )
    p.add_argument("format", choices=["onnx"], help="the format (onnx)")
    p.add_argument("model", help="model-zoo name or checkpoint file")
    p.add_argument("output", help="output path ending in .onnx")
    p.add_argument("--frames", type=int, default=8, help="frames per call, T (default 8)")
    p.add_argument("--size", default="180x320", help="LR frame size HxW (default 180x320)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..export import export_onnx

    try:
        h, w = (int(v) for v in args.size.lower().split("x"))
    except ValueError as e:
        raise RealBasicVSRError(f"--size {args.size!r}: give HxW, e.g. 180x320") from e
    out = export_onnx(args.model, args.output, frames=args.frames, height=h, width=w, opset=args.opset,
                      overwrite=args.overwrite)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB; input lqs (1, {args.frames}, 3, {h}, {w}))", file=sys.stderr)
    return 0
