"""``realbasicvsr compare``: a side-by-side PNG sheet of videos, frame folders or images at given times."""

from __future__ import annotations

import argparse

from ..errors import RealBasicVSRError


def _region(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("use X,Y,W,H in pixels of the largest input") from None
    return x, y, w, h


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="side-by-side PNG of two or more videos/folders at given times",
        description="One column per input, one row per --at time, every panel at the size of the largest "
        "input (smaller ones enlarged pixel for pixel) and labelled; --region and --zoom show detail.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="videos, frame folders or images (two or more)")
    p.add_argument("-o", "--output", required=True, help="the sheet (.png)")
    p.add_argument("--at", action="append", default=None, metavar="TIME",
                   help="12.5s, 1:02.5 or a frame index f30 (repeatable; default: the first frame)")
    p.add_argument("--region", type=_region, default=None, metavar="X,Y,W,H",
                   help="crop every panel to this rectangle (pixels of the largest input)")
    p.add_argument("--zoom", type=int, default=1, help="enlarge the panels (or the region) N times, nearest")
    p.add_argument("--labels", default=None, help="comma-separated panel labels (default: the file names)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing sheet")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..compare import compare_sheet

    labels = args.labels.split(",") if args.labels else None
    if len(args.inputs) < 2:
        raise RealBasicVSRError("compare needs at least two inputs")
    w, h = compare_sheet(args.inputs, args.output, at=args.at, region=args.region, zoom=args.zoom,
                         labels=labels, overwrite=args.overwrite)
    print(f"wrote {args.output} ({w}x{h})")
    return 0
