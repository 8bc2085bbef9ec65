"""Shared pieces of the training tests: the smoke recipe with small overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from realbasicvsr.training import TrainConfig, load_train_config

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.toml"


# The tests that compare two runs bit for bit send every clip through the real recipe's H.264 step (libx264,
# its SIMD capped at AVX2 so that it repeats itself, degradations/ops.py), never skipping it by chance.
H264 = ["degradations.first.video.prob=1", "degradations.first.video.codec_probs=[0.5, 0.5, 0.0]"]


def smoke_config(*assignments: str, **overrides) -> TrainConfig:
    """configs/smoke.toml with ``--set``-style assignments (and nested-dict overrides)."""
    return load_train_config(SMOKE, assignments, overrides or None)


@pytest.fixture
def smoke():
    return smoke_config
