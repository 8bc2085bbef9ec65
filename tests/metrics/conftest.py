"""Fixtures for the metric tests: the calibration images, LIVE's BRISQUE model in a cache or served on 127.0.0.1,
a tiny NRQM model."""

from __future__ import annotations

import csv
import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from realbasicvsr.io import read_image
from realbasicvsr.metrics.brisque import BUNDLED_DIR
from realbasicvsr.metrics.nrqm import Forest, NRQMModel


@pytest.fixture(scope="session")
def reference_scores(calib_dir: Path) -> dict[tuple[str, str], float]:
    """(image stem, metric) -> official score."""
    with open(calib_dir / "reference_scores.csv", newline="") as f:
        return {(Path(r["image"]).stem, r["metric"]): float(r["score"]) for r in csv.DictReader(f)}


@pytest.fixture(scope="session")
def calib_images(calib_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """stem -> (distorted, reference) uint8 RGB."""
    return {
        n: (read_image(calib_dir / "dist_dir" / f"{n}.bmp"), read_image(calib_dir / "ref_dir" / f"{n}.bmp"))
        for n in ("I03", "I04", "I08")
    }


@pytest.fixture()
def brisque_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$REALBASICVSR_HOME with the LIVE BRISQUE model in brisque/ (a copy of the package's files)."""
    home = tmp_path / "home"
    (home / "brisque").mkdir(parents=True)
    for name in ("allmodel", "allrange"):
        (home / "brisque" / name).write_bytes((BUNDLED_DIR / name).read_bytes())
    monkeypatch.setenv("REALBASICVSR_HOME", str(home))
    monkeypatch.delenv("REALBASICVSR_NRQM_MODEL", raising=False)
    return home


@pytest.fixture()
def served_release(tmp_path: Path):
    """The LIVE release files served on 127.0.0.1 by http.server in a thread; yields the folder URL."""
    root = tmp_path / "www" / "MATLAB"
    root.mkdir(parents=True)
    for name in ("allmodel", "allrange"):
        (root / name).write_bytes((BUNDLED_DIR / name).read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()


def _tiny_nrqm_model(seed: int = 0, trees: int = 3) -> NRQMModel:
    """A small synthetic NRQM model: per forest, ``trees`` depth-2 trees splitting on random features."""
    rng = np.random.default_rng(seed)
    forests = []
    for dim in (18, 45, 75):
        # nodes: 1 root, 2 internal, 4 leaves (1-based children; 0 marks a leaf)
        left = np.zeros((7, trees))
        right = np.zeros((7, trees))
        left[0], right[0] = 2, 3
        left[1], right[1] = 4, 5
        left[2], right[2] = 6, 7
        feature = np.zeros((7, trees))
        feature[:3] = rng.integers(1, dim + 1, size=(3, trees))
        threshold = np.zeros((7, trees))
        threshold[:3] = rng.normal(0.5, 0.5, size=(3, trees))
        value = rng.uniform(0, 10, size=(7, trees))
        forests.append(Forest(left, right, feature, threshold, value))
    return NRQMModel(tuple(forests), np.array([1.0, 0.3, 0.3, 0.4]))  # type: ignore[arg-type]


def _textured_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A deterministic natural-ish uint8 RGB image: smooth gradients, edges and mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 120 + 60 * np.sin(x / 7.0 + seed) * np.cos(y / 11.0) + 40 * ((x // 16 + y // 16) % 2)
    img = np.stack([base, base * 0.8 + 20, 255 - base * 0.9], axis=-1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def tiny_nrqm_model():
    """``tiny_nrqm_model(seed=0, trees=3)`` -> a synthetic :class:`NRQMModel`."""
    return _tiny_nrqm_model


@pytest.fixture(scope="session")
def textured_image():
    """``textured_image(h, w, seed=0)`` -> a deterministic textured uint8 RGB image."""
    return _textured_image
