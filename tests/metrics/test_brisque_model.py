"""BRISQUE's LIVE model files: lookup in $REALBASICVSR_HOME/brisque, download on first use, clear errors."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.metrics import brisque
from realbasicvsr.metrics.brisque import (
    URL_ENV, _cached_model, brisque_features, ensure_model_files, load_model, svr_score,
)


@pytest.fixture()
def served_release(tmp_path: Path, calib_dir: Path):
    """The LIVE release files served on 127.0.0.1 by http.server in a thread; yields the folder URL."""
    root = tmp_path / "www" / "MATLAB"
    root.mkdir(parents=True)
    for name in ("allmodel", "allrange"):
        (root / name).write_bytes((calib_dir / "brisque_live" / name).read_bytes())
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


def test_downloads_the_release_on_first_use_and_scores(tmp_path, served_release, monkeypatch, calib_images, reference_scores):
    url, _ = served_release
    home = tmp_path / "home"
    monkeypatch.setenv("REALBASICVSR_HOME", str(home))
    monkeypatch.setenv(URL_ENV, url)
    _cached_model.cache_clear()
    assert brisque(calib_images["I04"][0]) == reference_scores[("I04", "brisque")]
    assert (home / "brisque" / "allmodel").stat().st_size == 353497
    assert sorted(p.name for p in (home / "brisque").iterdir()) == ["allmodel", "allrange"]  # no temp files


def test_present_files_are_used_without_network(brisque_home, monkeypatch, calib_images, reference_scores):
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9/")  # nothing listens there
    _cached_model.cache_clear()
    assert brisque(calib_images["I04"][0]) == reference_scores[("I04", "brisque")]


def test_no_network_error_names_the_files_and_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9/")
    _cached_model.cache_clear()
    with pytest.raises(RealBasicVSRError) as e:
        brisque(np.zeros((64, 64, 3), np.uint8))
    msg = str(e.value)
    assert "allmodel" in msg and "allrange" in msg and str(tmp_path / "home" / "brisque") in msg
    assert "\n" not in msg
    assert not (tmp_path / "home" / "brisque" / "allmodel").exists()


def test_corrupt_download_is_rejected_and_removed(tmp_path, served_release, monkeypatch):
    url, root = served_release
    (root / "allmodel").write_bytes(b"svm_type epsilon_svr\n")  # wrong bytes: sha256 mismatch
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "home"))
    with pytest.raises(RealBasicVSRError, match="corrupt"):
        ensure_model_files(url, progress=False)
    assert not (tmp_path / "home" / "brisque" / "allmodel").exists()


def test_model_parsing(calib_dir):
    m = load_model(calib_dir / "brisque_live")
    assert m.support_vectors.shape == (774, 36) and m.coefs.shape == (774,)
    assert (m.gamma, m.rho, m.lower, m.upper) == (0.05, -153.591, -1.0, 1.0)
    assert m.feature_min[22] == 1.5e-5 and m.feature_max[0] == 10  # '1.5e-005' (Windows printf) parsed
    with pytest.raises(RealBasicVSRError, match="missing"):
        load_model(calib_dir)


def test_features_and_svr_by_hand(calib_dir, calib_images):
    from realbasicvsr.metrics.color import rgb2gray

    m = load_model(calib_dir / "brisque_live")
    feat = brisque_features(rgb2gray(calib_images["I04"][0]).astype(np.float64))
    assert feat.shape == (36,)
    # scale features by hand (svm-scale formula) and evaluate the RBF SVR directly
    x = -1 + 2 * (feat - m.feature_min) / (m.feature_max - m.feature_min)
    k = np.exp(-m.gamma * ((m.support_vectors - x) ** 2).sum(1))
    assert svr_score(feat, m, text_rounding=False) == pytest.approx(k @ m.coefs - m.rho, abs=1e-9)


def test_y_channel_and_rgb_options(brisque_home, textured_image):
    _cached_model.cache_clear()
    img = textured_image(96, 128, seed=5)
    y, g = brisque(img, channel="y"), brisque(img)
    assert y != g
    assert brisque(img, channel="y", crop_border=4) != y


def test_flat_image_is_a_clear_error(calib_dir):
    m = load_model(calib_dir / "brisque_live")
    with pytest.raises(RealBasicVSRError, match="undefined"):
        brisque(np.full((64, 64, 3), 7, np.uint8), model=m)
