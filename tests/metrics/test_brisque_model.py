"""BRISQUE's LIVE model files: the bundled copy, the download into $REALBASICVSR_HOME/brisque, clear errors."""

from __future__ import annotations

import importlib
import socket

import numpy as np
import pytest

from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.hub import file_sha256
from realbasicvsr.metrics import brisque
from realbasicvsr.metrics.brisque import (
    BUNDLED_DIR, MODEL_FILES, URL_ENV, _cached_model, brisque_features, ensure_model_files, load_model,
    model_folder, svr_score,
)
from realbasicvsr.metrics.color import rgb2gray

brisque_module = importlib.import_module("realbasicvsr.metrics.brisque")  # the package's `brisque` is the function


def test_downloads_the_release_on_first_use_and_scores(tmp_path, served_release, monkeypatch, calib_images, reference_scores):
    url, _ = served_release
    home = tmp_path / "home"
    monkeypatch.setenv("REALBASICVSR_HOME", str(home))
    monkeypatch.setenv(URL_ENV, url)
    _cached_model.cache_clear()
    assert brisque(calib_images["I04"][0]) == reference_scores[("I04", "brisque")]
    assert (home / "brisque" / "allmodel").stat().st_size == 353497
    assert sorted(p.name for p in (home / "brisque").iterdir()) == ["allmodel", "allrange"]  # no temp files


def _refuse_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every outgoing connection fails, as on a machine with no network."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_bundled_model_is_the_release_and_scores_offline(tmp_path, monkeypatch, textured_image):
    """The default needs neither network nor cache: the package's copy, sha256-checked, is used."""
    assert {n: file_sha256(BUNDLED_DIR / n) for n in MODEL_FILES} == MODEL_FILES
    assert "COPYRIGHT NOTICE STARTS" in (BUNDLED_DIR / "NOTICE-LIVE-BRISQUE.txt").read_text()
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(URL_ENV, raising=False)
    _refuse_connections(monkeypatch)
    _cached_model.cache_clear()
    img = textured_image(96, 128, seed=2)
    assert model_folder() == BUNDLED_DIR
    assert brisque(img) == svr_score(brisque_features(rgb2gray(img).astype(np.float64)), load_model(BUNDLED_DIR))
    assert not (tmp_path / "home").exists()


def test_url_override_downloads_into_the_cache(tmp_path, served_release, monkeypatch, textured_image):
    """$REALBASICVSR_BRISQUE_URL (a newer or mirrored release) is fetched into the cache and scored with."""
    url, _ = served_release
    home = tmp_path / "home"
    monkeypatch.setenv("REALBASICVSR_HOME", str(home))
    monkeypatch.setenv(URL_ENV, url)
    _cached_model.cache_clear()
    img = textured_image(96, 128, seed=3)
    assert brisque(img) == brisque(img, model=load_model(BUNDLED_DIR))
    assert model_folder() == home / "brisque"
    assert sorted(p.name for p in (home / "brisque").iterdir()) == ["allmodel", "allrange"]


def test_damaged_bundled_copy_falls_back_to_the_download(tmp_path, served_release, monkeypatch, textured_image):
    """A stripped or damaged install (bundled allmodel altered) is never scored with: the release is fetched."""
    url, _ = served_release
    damaged = tmp_path / "bundled"
    damaged.mkdir()
    for name in MODEL_FILES:
        (damaged / name).write_bytes((BUNDLED_DIR / name).read_bytes())
    with open(damaged / "allmodel", "ab") as f:
        f.write(b"\n")
    good = load_model(BUNDLED_DIR)
    monkeypatch.setattr(brisque_module, "BUNDLED_DIR", damaged)
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(brisque_module, "_RELEASE", url)
    monkeypatch.delenv(URL_ENV, raising=False)
    _cached_model.cache_clear()
    img = textured_image(96, 128, seed=4)
    assert brisque(img) == brisque(img, model=good)
    assert (tmp_path / "home" / "brisque" / "allmodel").stat().st_size == 353497


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


def test_model_parsing():
    m = load_model(BUNDLED_DIR)
    assert m.support_vectors.shape == (774, 36) and m.coefs.shape == (774,)
    assert (m.gamma, m.rho, m.lower, m.upper) == (0.05, -153.591, -1.0, 1.0)
    assert m.feature_min[22] == 1.5e-5 and m.feature_max[0] == 10  # '1.5e-005' (Windows printf) parsed
    with pytest.raises(RealBasicVSRError, match="missing"):
        load_model(BUNDLED_DIR.parent)


def test_features_and_svr_by_hand(calib_images):
    from realbasicvsr.metrics.color import rgb2gray

    m = load_model(BUNDLED_DIR)
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


def test_flat_image_is_a_clear_error():
    m = load_model(BUNDLED_DIR)
    with pytest.raises(RealBasicVSRError, match="undefined"):
        brisque(np.full((64, 64, 3), 7, np.uint8), model=m)
