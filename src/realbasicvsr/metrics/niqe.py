"""NIQE exactly as the LIVE release (``computequality.m`` with its pristine model ``modelparameters.mat``)."""

from __future__ import annotations

import warnings
from functools import lru_cache
from importlib import resources

import numpy as np
from scipy.special import gamma as gamma_fn

from ..errors import RealBasicVSRError
from .color import planes
from .imresize import imresize
from .matlab import aggd_fit, fspecial_gaussian, mscn

BLOCK = 96
# circshift offsets (rows, cols) of the four neighbour products
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


@lru_cache(maxsize=1)
def pristine_params() -> tuple[np.ndarray, np.ndarray]:
    """The bundled LIVE pristine model: mean (36,) and covariance (36, 36) of the block features."""
    with resources.files(__package__).joinpath("data/niqe_pris_params.npz").open("rb") as f:
        data = np.load(f)
        return data["mu_pris_param"].ravel().copy(), data["cov_pris_param"].copy()


def _block_features(structdis: np.ndarray, block: int) -> np.ndarray:
    """18 AGGD features per non-overlapping ``block`` x ``block`` tile (LIVE ``computefeature``)."""
    h, w = structdis.shape
    nr, nc = h // block, w // block
    tiles = structdis[: nr * block, : nc * block].reshape(nr, block, nc, block).transpose(0, 2, 1, 3)
    tiles = tiles.reshape(nr * nc, block, block)
    feats = []
    alpha, lstd, rstd = aggd_fit(tiles.reshape(len(tiles), -1))
    scale = np.sqrt(gamma_fn(1.0 / alpha) / gamma_fn(3.0 / alpha))
    feats += [alpha, (lstd * scale + rstd * scale) / 2]
    for shift in _SHIFTS:
        pair = (tiles * np.roll(tiles, shift, axis=(1, 2))).reshape(len(tiles), -1)
        alpha, lstd, rstd = aggd_fit(pair)
        scale = np.sqrt(gamma_fn(1.0 / alpha) / gamma_fn(3.0 / alpha))
        betal, betar = lstd * scale, rstd * scale
        mean = (betar - betal) * (gamma_fn(2.0 / alpha) / gamma_fn(1.0 / alpha))
        feats += [alpha, mean, betal, betar]
    return np.stack(feats, axis=1)


def _nancov(x: np.ndarray) -> np.ndarray:
    """MATLAB ``nancov``: covariance (N-1) over the rows without any NaN.

    A single block is a 1x36 row *vector* to MATLAB, whose ``nancov`` is then the scalar variance of its
    36 values (added to every entry of the pristine covariance); reproduced as is.
    """
    if len(x) == 1:
        v = x[0][~np.isnan(x[0])]
        return np.full((x.shape[1], x.shape[1]), np.var(v, ddof=1) if len(v) > 1 else np.nan)
    x = x[~np.isnan(x).any(axis=1)]
    if len(x) < 2:
        return np.full((x.shape[1], x.shape[1]), np.nan)
    return np.cov(x, rowvar=False)


def niqe_features(plane: np.ndarray) -> np.ndarray:
    """The (blocks, 36) feature matrix of one float64 plane (values 0..255) at scales 1 and 1/2."""
    h, w = plane.shape
    nr, nc = h // BLOCK, w // BLOCK
    if nr == 0 or nc == 0:
        raise RealBasicVSRError(f"NIQE needs an image of at least {BLOCK}x{BLOCK} pixels, got {w}x{h}")
    im = plane[: nr * BLOCK, : nc * BLOCK]
    window = fspecial_gaussian(7, 7.0 / 6.0)
    per_scale = []
    for scale in (1, 2):
        structdis = mscn(im, window, "replicate")
        per_scale.append(_block_features(structdis, BLOCK // scale))
        im = imresize(im, 0.5)
    return np.concatenate(per_scale, axis=1)


def niqe_plane(plane: np.ndarray) -> float:
    """NIQE of one float64 plane: Mahalanobis-like distance to the pristine MVG model."""
    mu_p, cov_p = pristine_params()
    feat = niqe_features(plane)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled just below
        mu_d = np.nanmean(feat, axis=0)
    cov_d = _nancov(feat)
    if np.isnan(mu_d).any() or np.isnan(cov_d).any():
        # MATLAB's pinv fails on NaN as well; the official code has no result for such images
        raise RealBasicVSRError("NIQE is undefined for this image (too few textured 96x96 blocks)")
    d = mu_p - mu_d
    inv = np.linalg.pinv((cov_p + cov_d) / 2.0)
    return float(np.sqrt(d @ inv @ d))


def niqe(img: np.ndarray, *, channel: str = "gray", crop_border: int = 0) -> float:
    """NIQE of a uint8 RGB image (lower is better); defaults = LIVE release on ``rgb2gray``, no crop.

    ``channel='y'`` and ``crop_border=4`` give the PIRM2018 / paper convention; 'rgb' averages the three
    channels' scores.
    """
    return float(np.mean([niqe_plane(p) for p in planes(img, channel, crop_border)]))
