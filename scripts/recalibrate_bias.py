"""Remove a generator's constant brightness error on a training config's degradation pipeline.

    python scripts/recalibrate_bias.py configs/lite_x2_colourfix.toml \
        src/realbasicvsr/weights/realbasicvsr_lite_x2.safetensors runs/lite_x2_recal.safetensors

Measures the per-channel mean of output - GT over ``--samples`` training clips of the config (its data and
degradations, fixed seed), subtracts it from the last convolution's bias (the closed-form fit of a constant
shift: ``realbasicvsr.training.recalibrate``), and writes the generator with the same format and metadata."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from realbasicvsr import load_model
from realbasicvsr.atomic import atomic_write
from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.training.config import load_train_config
from realbasicvsr.training.data import build_dataset
from realbasicvsr.training.recalibrate import mean_output_error, shift_output


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="training config whose data and degradations give the pairs")
    p.add_argument("weights", type=Path, help="generator .safetensors to recalibrate")
    p.add_argument("output", type=Path, help="new .safetensors (must not exist)")
    p.add_argument("--samples", type=int, default=64, help="training clips measured (default 64)")
    p.add_argument("--epoch", type=int, default=1000, help="dataset epoch the clips are drawn from (a seed)")
    a = p.parse_args(argv)
    try:
        if a.samples < 1:
            raise RealBasicVSRError(f"--samples must be at least 1, got {a.samples}")
        if a.output.exists():
            raise RealBasicVSRError(f"{a.output} exists; remove it first")
        dataset = build_dataset(load_train_config(a.config))
        model = load_model(str(a.weights))
        pairs = ((lq, gt) for lq, gt, _ in (dataset[(a.epoch, i)] for i in range(a.samples)))
        delta = mean_output_error(model, pairs)
        with safe_open(str(a.weights), "pt") as f:
            meta = dict(f.metadata() or {})
            state = {k: f.get_tensor(k) for k in f.keys()}
        meta["bias_recalibration"] = json.dumps({"config": str(a.config), "samples": a.samples,
                                                 "shift_levels": [round(-float(d) * 255, 3) for d in delta]})
        atomic_write(a.output, lambda tmp: save_file(shift_output(state, delta), str(tmp), metadata=meta))
    except RealBasicVSRError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"mean error (levels of 255) R, G, B: {', '.join(f'{float(d) * 255:+.2f}' for d in delta)}; "
          f"wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
