"""``realbasicvsr test --model M --dataset DIR``: upscale a benchmark set and print its score table."""

from __future__ import annotations

import argparse
from pathlib import Path

from .evaluate import add_report_options, write_reports


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test",
        help="upscale a dataset (VideoLQ or paired LQ/GT) with a model and print the metric table",
        description="The paper's test protocol: --layout videolq upscales every clip of a VideoLQ-style folder "
        "and scores frames 0, 50 and 99 with NRQM/NIQE/PI/BRISQUE on the Y channel (4-px shave); --layout "
        "paired upscales DIR/lq/<clip> and compares with DIR/gt/<clip> (PSNR/SSIM on Y, all frames).",
    )
    p.add_argument("-n", "--model", required=True, help="model-zoo name (see `realbasicvsr models`) or checkpoint file")
    p.add_argument("--dataset", required=True, help="dataset folder")
    p.add_argument("--layout", choices=("videolq", "paired"), default="videolq",
                   help="videolq: LQ clips only, no-reference metrics on frames 0/50/99 (the paper's VideoLQ "
                   "protocol); paired: LQ + ground-truth sub-folders, PSNR/SSIM (default videolq)")
    p.add_argument("--lq", default=None, metavar="DIR", help="paired: the LQ sub-folder (default: lq, input, BIx4 or BDx4)")
    p.add_argument("--gt", default=None, metavar="DIR", help="paired: the ground-truth sub-folder (default: gt or HR)")
    p.add_argument("--metrics", default=None, help="comma-separated metrics (default: the layout's)")
    p.add_argument("--frames", default=None, help="frame indices to score (videolq default 0,50,99; paired: all)")
    p.add_argument("--convention", choices=("paper", "official"), default="paper", help="metric conventions")
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="fp32", choices=["auto", "fp32", "fp16", "bf16"],
                   help="fp32 (default: the protocol's numbers); auto = fp16 on CUDA, bf16 on CPUs with native bf16")
    p.add_argument("--tile", type=int, default=0, help="spatial tile size in input pixels (default 0: whole frames)")
    p.add_argument("--chunk-frames", type=int, default=None,
                   help="upscale clips in temporal chunks of N frames (default: whole clips, the paper's protocol)")
    p.add_argument("--overlap", type=int, default=8, help="with --chunk-frames: context frames after each chunk (default 8)")
    p.add_argument(
        "--dynamic-refine-thres", "--refine-thres", dest="refine_thres", type=float, default=None, metavar="T",
        help="cleaning threshold in 0-255 units, as in upscale (default 255 = one pass; the paper uses 1.5)",
    )
    p.add_argument("--save", default=None, metavar="DIR", help="also keep the upscaled frames (PNG) per clip")
    add_report_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import (
        format_markdown, format_summary, parse_frames, run_test, stderr_progress,
    )
    from ..inference import EngineOptions

    result = run_test(
        args.model,
        args.dataset,
        layout=args.layout,
        metrics=args.metrics,
        frames=parse_frames(args.frames),
        convention=args.convention,
        engine=EngineOptions(device=args.device, precision=args.precision, tile=max(0, args.tile)),
        chunk_frames=args.chunk_frames,
        overlap=args.overlap,
        dynamic_refine_thres=args.refine_thres,
        save_dir=args.save,
        nrqm_model=args.nrqm_model,
        lq_dir=args.lq,
        gt_dir=args.gt,
        progress=None if args.quiet else stderr_progress,
        allow_partial=args.allow_partial,
    )
    print(format_markdown(result, per_frame=args.per_frame))
    model_name = Path(args.model).stem if Path(args.model).is_file() else args.model
    print(format_summary(result, model_name, Path(args.dataset).resolve().name), end="")
    write_reports(args, result)
    return 0
