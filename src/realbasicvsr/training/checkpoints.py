"""Training checkpoints: what a run saves (:func:`payload`), restores (:func:`restore`) and checks before
resuming (:func:`resume_state`); one plain dict per file, written atomically, in a layout ``load_model`` reads.

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

from .. import __version__
from ..atomic import atomic_write
from ..checkpoint import read_checkpoint
from ..errors import RealBasicVSRError
from ..nested import differences
from ..report import SettingError
from .config import TrainConfig
from .ema import EMA
from .step import Models, unwrap

FORMAT = "realbasicvsr-train"
# Settings a resumed run may change: they do not alter what a step computes.
RESUMABLE_CHANGES = ("train.iterations", "train.checkpoint_every", "train.keep_last", "train.log_every",
                     "train.device", "data.num_workers", "val.")
_NAME = re.compile(r"^iter_(\d{8})\.pth$")


def checkpoint_name(iteration: int) -> str:
    """The periodic checkpoint's file name: ``iter_<8-digit iteration>.pth``."""
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
    """Put back the RNG states :func:`rng_states` saved."""
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


def resume_state(folder: Path, config: TrainConfig, resume: bool) -> tuple[dict[str, Any], Path] | None:
    """The newest checkpoint in ``folder`` and its path when resuming (None for a fresh run). A resume with
    nothing to resume, a fresh run over existing checkpoints, or a config that changes what a step computes
    are errors."""
    existing = list_checkpoints(folder)
    if resume and not existing:
        raise SettingError(f"`resume`: no checkpoint in {folder}")
    if not resume and existing:
        raise SettingError(f"{folder.parent} already holds checkpoints; pass `resume` to continue, or choose "
                           "another `work_dir`")
    if not resume:
        return None
    path = existing[-1][1]
    state = load_training_checkpoint(path)
    diffs = differences(state["meta"]["config"], config.to_dict(), template="{key} (checkpoint {then!r}, now {now!r})",
                        ignore=RESUMABLE_CHANGES)
    if diffs:
        raise RealBasicVSRError(f"cannot resume {path}: the config differs: {'; '.join(diffs[:3])}")
    return state, path


def payload(config: TrainConfig, iteration: int, models: Models, ema: EMA, schedulers: dict[str, Any],
            best: dict[str, Any] | None) -> dict[str, Any]:
    """Everything a resumed run needs, in the layout ``load_model`` and ``convert`` read."""
    sd = {f"generator.{k}": v for k, v in unwrap(models.generator).state_dict().items()}
    sd.update({f"generator_ema.{k}": v for k, v in ema.state_dict().items()})
    optimizers = {"generator": models.optimizer.state_dict()}
    if models.discriminator is not None:
        sd.update({f"discriminator.{k}": v for k, v in models.discriminator.state_dict().items()})
        optimizers["discriminator"] = models.d_optimizer.state_dict()
    return {
        "meta": {"format": FORMAT, "version": __version__, "iteration": iteration, "config": config.to_dict(),
                 "best": best or {}},
        "state_dict": sd,
        "optimizers": optimizers,
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "scalers": {k: s.state_dict() for k, s in models.scalers.items()},
        "rng": rng_states(),
    }


def restore(state: dict[str, Any], models: Models, ema: EMA, schedulers: dict[str, Any],
            device: torch.device) -> tuple[int, dict[str, Any] | None]:
    """Load a :func:`payload` into the run's parts; returns its iteration and best validation score."""
    sd = state["state_dict"]

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v.to(device) for k, v in sd.items() if k.startswith(prefix)}

    unwrap(models.generator).load_state_dict(part("generator."))
    ema.load_state_dict(part("generator_ema."))
    models.optimizer.load_state_dict(state["optimizers"]["generator"])
    if models.discriminator is not None:
        models.discriminator.load_state_dict(part("discriminator."))
        models.d_optimizer.load_state_dict(state["optimizers"]["discriminator"])
    for k, s in schedulers.items():
        s.load_state_dict(state["schedulers"][k])
    for k, s in models.scalers.items():
        if k in state.get("scalers", {}):
            s.load_state_dict(state["scalers"][k])
    restore_rng_states(state["rng"])
    best = state["meta"].get("best") or None
    return int(state["meta"]["iteration"]), best
