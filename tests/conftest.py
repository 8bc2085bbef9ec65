"""Shared fixtures: the reference data (tests/assets, the external calibration set), released-layout checkpoints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest
import torch

from testdata import SMALL_WEIGHTS, require_calibration_dir

from realbasicvsr.models import RealBasicVSRNet, UNetDiscriminatorWithSpectralNorm

# One compute thread per test process (and, through the environment, per CLI subprocess a test starts):
# `scripts/test.sh` runs two pytest workers, one per core. Several threads per process on shared cores
# stall at every parallel region whenever another process holds a core: measured here with one busy
# process beside it, tests/training/test_step.py::test_overfits_one_clip[4] took 173 s with 2 threads
# and 7.9 s with one.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(scope="session")
def golden_small_path() -> Path:
    """The small golden checkpoint (mid_channels=16, 2+2 blocks): a real MMEditing-layout file that loads."""
    return SMALL_WEIGHTS


@pytest.fixture(scope="session")
def calib_dir() -> Path:
    """The external calibration folder (TID2013 images, official scores); skips the test when absent."""
    return require_calibration_dir()


def write_released_checkpoint(
    path: Path,
    *,
    mid_channels: int = 8,
    num_blocks: int = 1,
    disc_channels: int = 8,
    seed: int = 0,
) -> dict[str, dict[str, torch.Tensor]]:
    """Write a checkpoint laid out like the released MMEditing 0.x files, with random weights.

    Legacy (non-zip) serialization; ``meta`` plus ``state_dict`` with ``step_counter``, ``generator.*``,
    ``discriminator.*``, a few ``perceptual_loss.*`` and ``generator_ema.*`` (different values from
    ``generator.*``). Returns the ``generator`` and ``generator_ema`` state dicts that were written.
    """
    torch.manual_seed(seed)
    cfg = dict(mid_channels=mid_channels, num_propagation_blocks=num_blocks, num_cleaning_blocks=num_blocks)
    gen = RealBasicVSRNet(**cfg).state_dict()
    ema = {k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v.clone() for k, v in gen.items()}
    disc = UNetDiscriminatorWithSpectralNorm(mid_channels=disc_channels).state_dict()
    sd: dict[str, torch.Tensor] = {"step_counter": torch.zeros(1)}
    sd.update({f"generator.{k}": v for k, v in gen.items()})
    sd.update({f"discriminator.{k}": v for k, v in disc.items()})
    sd.update({f"perceptual_loss.vgg.vgg_layers.{i}.weight": torch.randn(8, 3, 3, 3) for i in (0, 2)})
    sd.update({f"generator_ema.{k}": v for k, v in ema.items()})
    meta = {"mmedit_version": "0.11.0", "iter": 150000, "epoch": 1, "exp_name": "synthetic test checkpoint"}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"meta": meta, "state_dict": sd}, path, _use_new_zipfile_serialization=False)
    return {"generator": gen, "generator_ema": ema}


@pytest.fixture(scope="session")
def released_checkpoint() -> Callable[..., dict[str, dict[str, torch.Tensor]]]:
    """``write_released_checkpoint(path, **sizes)``: a random-weight checkpoint in the released layout."""
    return write_released_checkpoint
