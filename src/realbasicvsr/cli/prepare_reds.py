"""``realbasicvsr prepare-reds ROOT``: cut REDS train_sharp into 480x480 sub-image sequences (step 240)."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare-reds",
        help="cut REDS train_sharp frames into overlapping sub-image sequences for training",
        description="Cut every clip of ROOT/train_sharp (ROOT may also be train_sharp itself) into "
        "CROPxCROP sub-images every STEP pixels; each position becomes a sequence folder <clip>_sNNN "
        "in OUTPUT (default ROOT/train_sharp_sub). Finished clips are skipped when run again.",
    )
    p.add_argument("root", help="REDS folder holding train_sharp/000/00000000.png ...")
    p.add_argument("-o", "--output", default=None, help="output folder (default: train_sharp_sub beside train_sharp)")
    p.add_argument("--crop", type=int, default=480, help="sub-image size in pixels (default 480)")
    p.add_argument("--step", type=int, default=240, help="distance between sub-images (default 240)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--overwrite", action="store_true", help="redo clips that are already complete")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.prepare import prepare_reds_subimages

    out = prepare_reds_subimages(
        args.root, args.output, crop=args.crop, step=args.step, workers=args.workers,
        overwrite=args.overwrite, progress=not args.quiet,
    )
    print(f"sub-image sequences in {out}", file=sys.stderr)
    return 0
