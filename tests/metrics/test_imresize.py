"""MATLAB-exact bicubic imresize."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from realbasicvsr.metrics.imresize import contributions, cubic, imresize
from realbasicvsr.metrics.niqe import niqe_features


def test_cubic_kernel_is_keys_with_a_minus_half():
    x = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    # Keys (a = -0.5): 1, 0.5625, 0, -0.0625, 0, 0
    np.testing.assert_allclose(cubic(x), [1, 0.5625, 0, -0.0625, 0, 0], atol=1e-15)


def test_halving_weights_are_the_stretched_kernel_and_sum_to_one():
    w, idx = contributions(8, 4, 0.5)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    # antialiasing: kernel 8 taps wide at scale 1/2; first output centred on input 1.5 (1-based)
    # antialiasing: weights 0.5 * cubic(0.5 * d), computed by hand for d = +-0.5, 1.5, 2.5, 3.5
    half = [-0.01171875, -0.03515625, 0.11328125, 0.43359375]
    np.testing.assert_allclose(w[0], half + half[::-1], atol=1e-15)
    # symmetric padding repeats the edge pixel: 0-based sources of output 0 are 2 1 0 | 0 1 2 3 4
    assert idx[0].tolist() == [2, 1, 0, 0, 1, 2, 3, 4]
    assert idx[3].tolist() == [3, 4, 5, 6, 7, 7, 6, 5]


def test_output_size_is_ceil_of_scale_and_constant_images_stay_constant():
    img = np.full((7, 9), 42.0)
    out = imresize(img, 0.5)
    assert out.shape == (4, 5)
    np.testing.assert_allclose(out, 42.0, atol=1e-12)
    assert imresize(img, output_shape=(20, 3)).shape == (20, 3)


def test_upscaling_reproduces_a_linear_ramp_away_from_the_borders():
    ramp = np.tile(np.arange(16, dtype=np.float64), (4, 1))
    out = imresize(ramp, 2.0)
    # MATLAB's pixel-centre mapping: output column j (0-based) samples input x = (j + 0.5) / 2 - 0.5
    x = (np.arange(32) + 0.5) / 2 - 0.5
    np.testing.assert_allclose(out[:, 4:-4], np.tile(x[4:-4], (8, 1)), atol=1e-12)


def test_resize_is_separable_and_handles_colour_channels():
    rng = np.random.default_rng(0)
    img = rng.random((12, 10, 3))
    out = imresize(img, 0.5)
    for c in range(3):
        np.testing.assert_allclose(out[..., c], imresize(img[..., c], 0.5), atol=1e-14)


def test_niqe_second_scale_depends_on_the_matlab_resampler(calib_images, monkeypatch):
    # NIQE on I04 equals the official value to ~1e-13, so its scale-2 features (built with imresize)
    # are MATLAB's; a plain 2x2 average instead moves them visibly.
    from realbasicvsr.metrics.color import rgb2gray

    plane = rgb2gray(calib_images["I04"][0]).astype(np.float64)
    feats = niqe_features(plane)
    niqe_mod = importlib.import_module("realbasicvsr.metrics.niqe")
    box = lambda im, s: im.reshape(im.shape[0] // 2, 2, im.shape[1] // 2, 2).mean((1, 3))  # noqa: E731
    monkeypatch.setattr(niqe_mod, "imresize", box)
    other = niqe_features(plane)
    np.testing.assert_array_equal(feats[:, :18], other[:, :18])
    assert np.abs(feats[:, 18:] - other[:, 18:]).max() > 1e-3


def test_bad_arguments():
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)))
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)), output_shape=(0, 3))
