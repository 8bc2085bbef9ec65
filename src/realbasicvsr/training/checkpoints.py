"""Training checkpoints: one plain dict per file, written atomically, in a layout ``load_model`` reads.

``state_dict`` holds ``generator.*``, ``generator_ema.*`` and (stage 2) ``discriminator.*`` as in MMagic's
files, so any training checkpoint loads with ``load_model`` (EMA weights by default) and ``convert``.
Beside it: optimisers, schedulers, grad scaler, iteration, RNG states and the config (``meta``).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_write
from ..checkpoint import read_checkpoint
from ..errors import RealBasicVSRError

FORMAT = "realbasicvsr-train"
_NAME = re.compile(r"^iter_(\d{8})\.pth$")


def checkpoint_name(iteration: int) -> str:
    return f"iter_{iteration:08d}.pth"


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(iteration, path) of the periodic checkpoints in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def rng_states() -> dict[str, Any]:
    """Every global RNG the loop could touch (none of the data's: those come from (seed, epoch, index))."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": _python_state_to_plain(random.getstate()),
    }


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    n = states["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))


def _python_state_to_plain(state: tuple) -> list:
    version, internal, gauss = state
    return [version, list(internal), gauss]


def save_checkpoint(path: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``path`` atomically (a crash or full disk never leaves a half-written file)."""
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_training_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by the trainer (weights_only); anything else is a one-line error."""
    obj = read_checkpoint(path)
    meta = obj.get("meta")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "optimizers" not in obj:
        raise RealBasicVSRError(f"{path} is not a realbasicvsr training checkpoint (cannot resume from it)")
    return obj
