"""NRQM / PI: model formats, forest regression, features and the PIRM convention.

Ma et al.'s trained ``model.mat`` is not available here, so the official NRQM/PI values cannot be checked;
these tests cover everything that can be: both model formats, the forest traversal, the feature shapes and
invariants, the steerable pyramid, and how PI combines NRQM and NIQE.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.metrics import niqe, nrqm, pi
from realbasicvsr.metrics.color import rgb2y
from realbasicvsr.metrics.niqe import niqe_plane
from realbasicvsr.metrics.nrqm import (
    MODEL_ENV, Forest, NRQMModel, find_model, gaussian_pyramid, load_model, nrqm_features, nrqm_plane,
    save_model, svd_features,
)
from realbasicvsr.metrics.steerable import build_sf_pyramid


def _write_mat(model: NRQMModel, path):
    """The layout of Ma et al.'s model.mat: struct ``model`` with cell ``rf`` of randomForest structs."""
    rf = np.empty((1, 3), dtype=object)
    for k, f in enumerate(model.forests):
        rf[0, k] = {
            "ldau": f.left, "rdau": f.right, "nodestatus": np.where(f.left > 0, 1, -1),
            "upper": f.threshold, "avnode": f.value, "mbest": f.feature, "ndtree": np.full(f.left.shape[1], 7),
        }
    scipy.io.savemat(path, {"model": {"rf": rf, "linear": model.linear.reshape(4, 1)}})


def test_mat_and_npz_formats_load_the_same_model(tmp_path, tiny_nrqm_model):
    model = tiny_nrqm_model(seed=1)
    _write_mat(model, tmp_path / "model.mat")
    save_model(model, tmp_path / "model.npz")
    a, b = load_model(tmp_path / "model.mat"), load_model(tmp_path / "model.npz")
    for fa, fb, f in zip(a.forests, b.forests, model.forests):
        for name in ("left", "right", "feature", "threshold", "value"):
            np.testing.assert_array_equal(getattr(fa, name), getattr(f, name))
            np.testing.assert_array_equal(getattr(fb, name), getattr(f, name))
    np.testing.assert_array_equal(a.linear, model.linear)


def test_forest_traversal_by_hand():
    # tree 0: root splits feature 2 at 0.5 -> leaves 10 (<=) / 20; tree 1: a single leaf worth 4
    left = np.array([[2, 0], [0, 0], [0, 0]], float)
    right = np.array([[3, 0], [0, 0], [0, 0]], float)
    feature = np.array([[2, 0], [0, 0], [0, 0]], float)
    threshold = np.array([[0.5, 0], [0, 0], [0, 0]], float)
    value = np.array([[99, 4], [10, 0], [20, 0]], float)
    forest = Forest(left, right, feature, threshold, value)
    assert forest.predict(np.array([9.0, 0.5])) == 7.0  # (10 + 4) / 2: equality goes left
    assert forest.predict(np.array([9.0, 0.6])) == 12.0


def test_score_is_the_linear_combination_of_the_three_forests(textured_image, tiny_nrqm_model):
    model = tiny_nrqm_model(seed=2)
    plane = rgb2y(textured_image(96, 112, seed=1)).astype(np.float64)
    feats = nrqm_features(plane)
    s = [f.predict(x) for f, x in zip(model.forests, feats)]
    assert nrqm_plane(plane, model) == pytest.approx(model.linear @ np.array([1.0, *s]), abs=1e-12)


def test_feature_shapes_and_pyramid(textured_image):
    plane = textured_image(100, 120, seed=3)[..., 1].astype(np.float64)
    f1, f2, f3 = nrqm_features(plane)
    assert (f1.shape, f2.shape, f3.shape) == ((18,), (45,), (75,))
    assert np.isfinite(np.concatenate([f1, f2, f3])).all()
    pyr = gaussian_pyramid(plane / 255)
    assert [p.shape for p in pyr] == [(100, 120), (50, 60), (25, 30)]
    # singular values: non-negative, sorted, and a 5x5-periodic image has rank-1 block matrix
    sv = svd_features(pyr)
    assert (np.diff(sv.reshape(3, 25), axis=1) <= 1e-12).all() and (sv >= 0).all()
    tile = np.tile(np.arange(25.0).reshape(5, 5), (4, 4))
    flat = svd_features([tile])
    assert flat[0] > 0 and np.allclose(flat[1:], 0, atol=1e-9)


def test_steerable_pyramid_is_a_tight_frame():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(64, 80))
    img -= img.mean()
    p = build_sf_pyramid(img, 2, 5)
    assert [b.shape for b in p["levels"][0]] == [(64, 80)] * 6
    assert [b.shape for b in p["levels"][1]] == [(32, 40)] * 6
    energy = (
        (p["highpass"] ** 2).sum()
        + sum((b**2).sum() for b in p["levels"][0])
        + sum((b**2).sum() for b in p["levels"][1]) / 4
        + (p["lowpass"] ** 2).sum() / 16
    )
    assert energy == pytest.approx((img**2).sum(), rel=1e-3)


def test_pi_combines_nrqm_and_niqe_on_the_shaved_y_plane(textured_image, tiny_nrqm_model):
    model = tiny_nrqm_model(seed=3)
    img = textured_image(112, 120, seed=4)
    plane = rgb2y(img)[4:-4, 4:-4].astype(np.float64)
    expected = 0.5 * ((10 - nrqm_plane(plane, model)) + niqe_plane(plane))
    assert pi(img, model=model) == pytest.approx(expected, abs=1e-12)
    assert pi(img, model=model) == pytest.approx(
        0.5 * ((10 - nrqm(img, channel="y", crop_border=4, model=model)) + niqe(img, channel="y", crop_border=4)),
        abs=1e-12,
    )


def test_model_lookup_and_missing_model_error(tmp_path, monkeypatch, tiny_nrqm_model):
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(MODEL_ENV, raising=False)
    with pytest.raises(RealBasicVSRError) as e:
        nrqm(np.zeros((96, 96, 3), np.uint8))
    assert "model.mat" in str(e.value) and str(tmp_path / "home" / "nrqm") in str(e.value)
    (tmp_path / "home" / "nrqm").mkdir(parents=True)
    save_model(tiny_nrqm_model(), tmp_path / "home" / "nrqm" / "model.npz")
    assert find_model() == tmp_path / "home" / "nrqm" / "model.npz"
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "elsewhere.mat"))
    with pytest.raises(RealBasicVSRError, match="not found"):
        nrqm(np.zeros((96, 96, 3), np.uint8))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(RealBasicVSRError, match="not an NRQM model"):
        load_model(tmp_path / "bad.npz")


def test_small_images_are_rejected(tiny_nrqm_model):
    with pytest.raises(RealBasicVSRError, match="72x72"):
        nrqm(np.zeros((60, 200, 3), np.uint8), model=tiny_nrqm_model())
