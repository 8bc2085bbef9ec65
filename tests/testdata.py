"""Where the tests find their reference data (tests/ is on sys.path via conftest).

Data the project may redistribute is in the repository: ``tests/assets/`` (the reference's golden tensors,
LIVE's NIQE model as converted by PIRM2018; see the READMEs there) and the package (LIVE's BRISQUE and NIQE
models). The TID2013 calibration images and the official scores measured on them may not be redistributed:
they are looked up in ``$REALBASICVSR_TEST_DATA/metrics_calibration`` (``none`` means: no external data),
else in ``../shared/metrics_calibration`` beside the checkout; the tests that need them skip when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parent / "assets"
GOLDEN_DIR = ASSETS / "golden"
SMALL_WEIGHTS = GOLDEN_DIR / "realbasicvsr_small.pt"
DATA_ENV = "REALBASICVSR_TEST_DATA"
BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared"
CALIBRATION_SOURCE = (
    "the TID2013 calibration images and official scores (metrics_calibration/: dist_dir, ref_dir, "
    "reference_scores.csv; from pyiqa's ResultsCalibra, not redistributable)"
)


def external_data_dir() -> Path | None:
    """``$REALBASICVSR_TEST_DATA`` if set (``none``: no external data, None), else ../shared beside the checkout."""
    value = os.environ.get(DATA_ENV)
    if value is None:
        return BESIDE_CHECKOUT
    return None if value.strip().lower() == "none" else Path(value)


def calibration_dir() -> Path | None:
    """The calibration folder (``metrics_calibration``) of the external data, or None when absent."""
    root = external_data_dir()
    if root is None:
        return None
    folder = root / "metrics_calibration"
    needed = ["reference_scores.csv"] + [f"{d}/{n}.bmp" for d in ("dist_dir", "ref_dir") for n in ("I03", "I04", "I08")]
    return folder if all((folder / p).is_file() for p in needed) else None


def require_calibration_dir() -> Path:
    """The calibration folder, or skip the calling test with one line naming what is missing and where from."""
    folder = calibration_dir()
    if folder is None:
        root = external_data_dir()
        where = f"${DATA_ENV}=none" if root is None else f"not in {root / 'metrics_calibration'}"
        pytest.skip(f"needs {CALIBRATION_SOURCE}: {where} (set ${DATA_ENV} to the folder holding "
                    "metrics_calibration/; see tests/assets/README.md)")
    return folder
