"""Shared pieces of the training tests: the smoke recipe with small overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from realbasicvsr.training import TrainConfig, load_train_config

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.toml"


def smoke_config(*assignments: str, **overrides) -> TrainConfig:
    """configs/smoke.toml with ``--set``-style assignments (and nested-dict overrides)."""
    return load_train_config(SMOKE, assignments, overrides or None)


@pytest.fixture
def smoke():
    return smoke_config
