"""NIQE: the bundled pristine model, conventions and failure modes."""

from __future__ import annotations

import numpy as np
import pytest
from testdata import ASSETS

from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.metrics import niqe
from realbasicvsr.metrics.color import rgb2y
from realbasicvsr.metrics.niqe import niqe_features, niqe_plane, pristine_params


def test_bundled_pristine_model_equals_the_live_release():
    mu, cov = pristine_params()
    ref = np.load(ASSETS / "metrics" / "niqe_pristine_params.npz")
    assert mu.shape == (36,) and cov.shape == (36, 36)
    assert np.array_equal(mu, ref["mu_prisparam"].ravel())
    assert np.array_equal(cov, ref["cov_prisparam"])


def test_paper_convention_is_y_channel_with_a_4px_shave(calib_images):
    img = calib_images["I04"][0]
    expected = niqe_plane(rgb2y(img)[4:-4, 4:-4].astype(np.float64))
    assert niqe(img, channel="y", crop_border=4) == expected
    assert niqe(img, channel="y", crop_border=4) != niqe(img)  # gray, no crop: a different number


def test_features_use_96px_blocks_and_the_half_scale(textured_image):
    plane = textured_image(200, 300, seed=1)[..., 0].astype(np.float64)
    feat = niqe_features(plane)
    assert feat.shape == (2 * 3, 36)  # floor(200/96) x floor(300/96) blocks, 18 features per scale
    # the right/bottom remainder is cropped away: changing it leaves the features unchanged
    plane2 = plane.copy()
    plane2[192:, :] = 0
    plane2[:, 288:] = 255
    np.testing.assert_array_equal(niqe_features(plane2), feat)


def test_rgb_channel_averages_the_three_planes(textured_image):
    img = textured_image(192, 200, seed=2)
    per = [niqe_plane(img[..., c].astype(np.float64)) for c in range(3)]
    assert niqe(img, channel="rgb") == pytest.approx(np.mean(per), rel=1e-12)


def test_blurring_raises_niqe(textured_image):
    from scipy import ndimage

    img = textured_image(192, 192, seed=3)
    blurred = np.stack([ndimage.gaussian_filter(img[..., c].astype(float), 2.5) for c in range(3)], -1)
    assert niqe(np.round(blurred).astype(np.uint8)) > niqe(img) + 1


def test_single_block_uses_matlab_row_vector_nancov(textured_image):
    # one 96x96 block: MATLAB's nancov sees a row vector and returns the variance of its 36 values
    plane = textured_image(100, 100, seed=4)[..., 1].astype(np.float64)
    feat = niqe_features(plane)
    mu_p, cov_p = pristine_params()
    d = mu_p - feat[0]
    expected = np.sqrt(d @ np.linalg.pinv((cov_p + np.var(feat[0], ddof=1)) / 2) @ d)
    assert niqe_plane(plane) == pytest.approx(expected, rel=1e-12)


def test_too_small_and_flat_images_fail_clearly():
    with pytest.raises(RealBasicVSRError, match="at least 96x96"):
        niqe(np.zeros((64, 200, 3), np.uint8))
    with pytest.raises(RealBasicVSRError, match="undefined"):
        niqe(np.full((192, 192, 3), 128, np.uint8))
    with pytest.raises(RealBasicVSRError, match="uint8"):
        niqe(np.zeros((128, 128, 3), np.float32))
