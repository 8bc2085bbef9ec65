"""``realbasicvsr degrade INPUT -o OUTPUT --seed N``: synthesise realistic LQ frames from clean footage."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "degrade",
        help="degrade clean video/frames into realistic low-quality frames (build paired test sets)",
        description="Apply the RealBasicVSR training degradations (blur, resize, noise, JPEG, video "
        "compression, twice, then the final resize to 1/scale) to a video, a folder of frames or an image. "
        "One output frame per input frame; the same seed gives the same output. A video-extension OUTPUT "
        "writes a video, anything else a folder of PNG frames (exact 8-bit values).",
    )
    p.add_argument("input", help="video file, folder of frames or image")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4, .mkv, ...) or folder of PNG frames")
    p.add_argument("--seed", type=int, required=True, help="random seed (same seed, same degradations)")
    p.add_argument("--scale", type=int, default=None, help="downscaling factor (default: the config's, 4)")
    p.add_argument("--config", default=None, help="TOML file overriding degradation settings")
    p.add_argument("--window", type=int, default=30,
                   help="frames processed (and video-compressed) together; bounds memory (default 30)")
    p.add_argument("--no-sharpen", action="store_true",
                   help="degrade the frames as they are, not their unsharp-masked version")
    p.add_argument("--params-json", default=None, help="write the drawn degradation parameters to this JSON file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..degradations.apply import degrade_video

    n = degrade_video(
        args.input, args.output, seed=args.seed, scale=args.scale, config=args.config, window=args.window,
        sharpen=not args.no_sharpen, overwrite=args.overwrite, params_json=args.params_json,
        progress=not args.quiet,
    )
    print(f"wrote {n} degraded frames to {args.output}", file=sys.stderr)
    return 0
