"""Shared pieces of the training tests: the smoke recipe with small overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from realbasicvsr.training import TrainConfig, load_train_config

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.toml"


# libx264 in PyAV 18 occasionally encodes the same tiny frames differently from one call to the next
# (measured: 2 of 24 calls on a 20x20 clip, even with one thread), so the tests that compare two runs bit for
# bit (or to 1e-5) leave video compression out of the degradations; everything else stays in.
NO_VIDEO = ["degradations.first.video.prob=0", "degradations.final.video.prob=0"]


def smoke_config(*assignments: str, **overrides) -> TrainConfig:
    """configs/smoke.toml with ``--set``-style assignments (and nested-dict overrides)."""
    return load_train_config(SMOKE, assignments, overrides or None)


@pytest.fixture
def smoke():
    return smoke_config
