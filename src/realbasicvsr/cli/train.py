"""``realbasicvsr train CONFIG --work-dir DIR [--resume] [--set key=value ...]``: train or fine-tune."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train or fine-tune a model from a TOML recipe (CPU, one GPU, or torchrun for many)",
        description="Train RealBasicVSR as a TOML recipe says (configs/ holds the seed's two stages, an x2 "
        "variant, fine-tuning on your own videos and a one-minute smoke test). Checkpoints, log.jsonl and "
        "validation crops go to --work-dir. Ctrl-C writes a checkpoint; --resume continues exactly. "
        "Many GPUs: torchrun --standalone --nproc_per_node=N -m realbasicvsr train CONFIG --work-dir DIR.",
    )
    p.add_argument("config", help="training recipe (.toml)")
    p.add_argument("--work-dir", required=True, help="folder for checkpoints, logs and validation crops")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --work-dir")
    p.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. --set train.lr=5e-5 --set data.root=my_videos (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report import as_flag, render_settings
    from ..training import load_train_config, train

    config = load_train_config(args.config, args.assignments)
    result = train(config, args.work_dir, resume=args.resume,
                   log=lambda line: print(render_settings(line, as_flag), file=sys.stderr, flush=True))
    if result.rank == 0:
        print(f"trained {result.iteration} iterations; checkpoint {result.checkpoint}", file=sys.stderr)
    return 0
