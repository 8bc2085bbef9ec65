"""Blur kernels: normalisation, symmetry, shapes and agreement with the closed forms."""

import math

import numpy as np
import pytest
from scipy import special

from realbasicvsr.degradations import kernels as K
from realbasicvsr.errors import RealBasicVSRError

FAMILIES = ["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso", "sinc"]


def params(n=4, rng=None):
    rng = rng or np.random.default_rng(0)
    return {
        "sigma_x": rng.uniform(0.2, 3, n), "sigma_y": rng.uniform(0.2, 3, n), "rotation": rng.uniform(-np.pi, np.pi, n),
        "beta_gaussian": rng.uniform(0.5, 4, n), "beta_plateau": rng.uniform(1, 2, n), "omega": rng.uniform(np.pi / 5, np.pi, n),
    }


@pytest.mark.parametrize("kind", FAMILIES)
@pytest.mark.parametrize("size", [7, 13, 21])
def test_kernels_sum_to_one_with_shape(kind, size):
    k = K.make_kernels(kind, size, params())
    assert k.shape == (4, size, size)
    np.testing.assert_allclose(k.sum(axis=(1, 2)), 1.0, atol=1e-12)
    assert np.isfinite(k).all()
    # every family is point-symmetric, so correlation and convolution agree
    np.testing.assert_allclose(k, k[:, ::-1, ::-1], atol=1e-15)


@pytest.mark.parametrize("kind", ["iso", "generalized_iso", "plateau_iso", "sinc"])
def test_isotropic_kernels_have_all_symmetries(kind):
    k = K.make_kernels(kind, 15, params())
    np.testing.assert_allclose(k, k[:, ::-1, :], atol=1e-15)
    np.testing.assert_allclose(k, k[:, :, ::-1], atol=1e-15)
    np.testing.assert_allclose(k, k.transpose(0, 2, 1), atol=1e-15)


def test_gaussian_matches_formula():
    size, sx, sy, th = 11, 1.7, 0.6, 0.4
    k = K.gaussian_kernels(size, sx, sy, th)[0]
    c, s = math.cos(th), math.sin(th)
    R = np.array([[c, -s], [s, c]])
    S_inv = np.linalg.inv(R @ np.diag([sx**2, sy**2]) @ R.T)
    ref = np.zeros((size, size))
    for i in range(size):  # row = y
        for j in range(size):  # column = x
            v = np.array([j - size // 2, i - size // 2], dtype=float)
            ref[i, j] = math.exp(-0.5 * v @ S_inv @ v)
    np.testing.assert_allclose(k, ref / ref.sum(), rtol=1e-12)
    # isotropic: separable product of 1-D Gaussians
    g = np.exp(-0.5 * (np.arange(size) - size // 2) ** 2 / 1.3**2)
    np.testing.assert_allclose(K.gaussian_kernels(size, 1.3, 1.3, 0.0)[0], np.outer(g, g) / np.outer(g, g).sum(), rtol=1e-12)


def test_rotation_by_quarter_turn_swaps_axes():
    a = K.gaussian_kernels(9, 2.5, 0.5, 0.0)[0]
    b = K.gaussian_kernels(9, 2.5, 0.5, np.pi / 2)[0]
    np.testing.assert_allclose(a, b.T, atol=1e-12)
    assert a[4, 0] > a[0, 4]  # sigma_x is along columns (x)


def test_generalized_and_plateau_closed_forms():
    size, sx, sy, th, beta = 9, 1.2, 2.0, -0.7, 1.6
    q = K.quadratic_form(size, sx, sy, th)[0]
    gen = np.exp(-0.5 * q**beta)
    np.testing.assert_allclose(K.generalized_gaussian_kernels(size, sx, sy, th, beta)[0], gen / gen.sum(), rtol=1e-12)
    pla = 1 / (1 + q**beta)
    np.testing.assert_allclose(K.plateau_kernels(size, sx, sy, th, beta)[0], pla / pla.sum(), rtol=1e-12)
    # beta = 1: the generalised Gaussian is the Gaussian
    np.testing.assert_allclose(K.generalized_gaussian_kernels(size, sx, sy, th, 1.0), K.gaussian_kernels(size, sx, sy, th), rtol=1e-12)


def test_sinc_matches_circular_lowpass_formula_and_centre():
    size, omega = 13, 1.9
    k = K.sinc_kernels(size, omega)[0]
    raw = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            r = math.hypot(i - 6, j - 6)
            raw[i, j] = omega**2 / (4 * math.pi) if r == 0 else omega * special.j1(omega * r) / (2 * math.pi * r)
    np.testing.assert_allclose(k, raw / raw.sum(), rtol=1e-12)
    # the centre value is the r -> 0 limit of the formula
    r = 1e-6
    assert omega * special.j1(omega * r) / (2 * math.pi * r) == pytest.approx(omega**2 / (4 * math.pi), rel=1e-9)
    assert k[6, 6] == k.max() and (k < 0).any()  # ringing: negative lobes


def test_bad_size_and_kind():
    with pytest.raises(RealBasicVSRError):
        K.make_kernels("iso", 8, params())
    with pytest.raises(RealBasicVSRError):
        K.make_kernels("box", 7, params())
