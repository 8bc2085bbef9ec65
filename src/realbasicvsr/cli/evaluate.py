"""``realbasicvsr evaluate PATH... --metrics ...``: score images, frame folders or videos."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score images, frame folders or videos with NIQE/BRISQUE/NRQM/PI/PSNR/SSIM/E*warp/invented texture",
        description="Score clips (a video, a folder of frames, an image, or a folder of such clips such as "
        "VideoLQ) with the metrics exactly as their official codes compute them. Prints a markdown table: one "
        "row per clip (mean over its frames) and the mean over clips.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="video, frame folder, image, or a folder of clips")
    p.add_argument(
        "--metrics", default=None,
        help="comma-separated: niqe,brisque,nrqm,pi,psnr,ssim,warp,texture (default niqe,brisque; plus psnr,ssim "
        "with --ref). warp: the temporal warping error E*warp x1e-3 of each frame against the one before (DIS "
        "optical flow, occlusions masked; RGB in [0, 1]): 0 for a static clip, large for flicker. texture: "
        "invented texture, the high-frequency energy of Y where the bicubic upscale (--base) is flat, over "
        "bicubic's own there: 1.0 for bicubic, above 1.5 for painted patterns (needs --base)",
    )
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="also draw every metric per frame over time (one line per clip) into this PNG")
    p.add_argument("--ref", default=None, help="reference clip (or folder of clips with the same names) for psnr/ssim")
    p.add_argument("--base", default=None,
                   help="the bicubic upscale of the same input (a clip, or a folder of clips with the same names) "
                   "for texture")
    p.add_argument("--frames", default=None, help="frame indices to score, e.g. 0,50,99 (default: all)")
    p.add_argument(
        "--convention", choices=("official", "paper"), default="official",
        help="official: each metric as its official code (gray, no crop; PI on Y with a 4-px shave); "
        "paper: the RealBasicVSR table (Y channel, 4-px shave for NR metrics)",
    )
    p.add_argument("--channel", choices=("gray", "y", "rgb"), default=None, help="override the channel of every metric")
    p.add_argument("--crop-border", type=int, default=None, help="override the border crop of every metric")
    add_report_options(p)
    p.set_defaults(func=run)


def add_report_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `evaluate` and `test`: the NRQM model, report files, table detail, quietness."""
    p.add_argument(
        "--nrqm-model", default=None, metavar="FILE",
        help="Ma et al.'s model.mat (or .npz) for nrqm/pi (default: $REALBASICVSR_NRQM_MODEL or the cache folder)",
    )
    p.add_argument("--json", default=None, metavar="FILE", help="also write all scores as JSON")
    p.add_argument("--csv", default=None, metavar="FILE", help="also write per-frame and per-clip scores as CSV")
    p.add_argument("--per-frame", action="store_true", help="also list every scored frame in the table")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--allow-partial", action="store_true",
                   help="score the decodable frames of a truncated video (with a warning) instead of refusing it")


def write_reports(args: argparse.Namespace, result) -> None:
    """The --json/--csv files, each written atomically."""
    from ..atomic import write_text_atomic
    from ..evaluation import to_csv, to_json

    if args.json:
        write_text_atomic(args.json, to_json(result))
    if args.csv:
        write_text_atomic(args.csv, to_csv(result))


def run(args: argparse.Namespace) -> int:
    from ..evaluation import (
        evaluate, format_markdown, parse_frames, stderr_progress,
    )

    metrics = args.metrics or ("niqe,brisque,psnr,ssim" if args.ref else "niqe,brisque")
    if args.plot and not str(args.plot).lower().endswith(".png"):
        from ..errors import RealBasicVSRError

        raise RealBasicVSRError(f"--plot {args.plot}: the plot is a PNG (end the name in .png)")

    result = evaluate(
        args.paths,
        metrics,
        ref=args.ref,
        base=args.base,
        frames=parse_frames(args.frames),
        convention=args.convention,
        channel=args.channel,
        crop_border=args.crop_border,
        nrqm_model=args.nrqm_model,
        progress=None if args.quiet else stderr_progress,
        allow_partial=args.allow_partial,
    )
    print(format_markdown(result, per_frame=args.per_frame), end="")
    write_reports(args, result)
    if args.plot:
        from ..plot import plot_per_frame

        plot_per_frame(result.per_frame, [(s.name, s.label) for s in result.metrics], args.plot)
    return 0
