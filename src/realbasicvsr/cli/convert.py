"""``realbasicvsr convert IN OUT.safetensors``: keep only the generator, in a safe format."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="extract the generator of a checkpoint into a small .safetensors file",
        description="Write the generator (EMA weights by default) of an MMagic/MMEditing checkpoint, a "
        "state dict or a model-zoo name as a generator-only .safetensors file.",
    )
    p.add_argument("input", help="checkpoint file or model-zoo name")
    p.add_argument("output", help="output path ending in .safetensors")
    p.add_argument("--no-ema", action="store_true", help="take `generator.*` instead of `generator_ema.*`")
    p.add_argument("--fp16", action="store_true", help="store fp16 tensors (half the size)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--sharpen", type=float, default=None, metavar="W",
                   help="store a fixed unsharp mask of weight W (Gaussian sigma 1) applied to every output "
                   "frame; 0 removes one (default: keep the input's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import convert_checkpoint

    out = convert_checkpoint(args.input, args.output, use_ema=not args.no_ema, overwrite=args.overwrite,
                             half=args.fp16, sharpen=args.sharpen)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0
