"""Small MATLAB building blocks the official metric codes rely on: fspecial, imfilter, GGD/AGGD fits."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.special import gamma as gamma_fn

# The shape grid both LIVE releases search (0.2:0.001:10), built as MATLAB's colon operator does.
GAMMA_GRID = 0.2 + 0.001 * np.arange(9801)
_R_AGGD = gamma_fn(2.0 / GAMMA_GRID) ** 2 / (gamma_fn(1.0 / GAMMA_GRID) * gamma_fn(3.0 / GAMMA_GRID))
_R_GGD = (gamma_fn(1.0 / GAMMA_GRID) * gamma_fn(3.0 / GAMMA_GRID)) / gamma_fn(2.0 / GAMMA_GRID) ** 2


def fspecial_gaussian(size: int, sigma: float) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)``: tiny values zeroed, normalised to sum 1."""
    r = (size - 1) / 2.0
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    h = np.exp(-(x * x + y * y) / (2.0 * sigma * sigma))
    h[h < np.finfo(np.float64).eps * h.max()] = 0
    return h / h.sum()


def imfilter(img: np.ndarray, kernel: np.ndarray, padding: str) -> np.ndarray:
    """MATLAB ``imfilter`` (correlation, 'same' size) with 'replicate' or zero ('zeros', as ``filter2``)
    padding."""
    mode = {"replicate": "nearest", "zeros": "constant"}[padding]
    return ndimage.correlate(img, kernel, mode=mode, cval=0.0)


def mscn(img: np.ndarray, window: np.ndarray, padding: str) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients with C = 1: (im - mu) / (sigma + 1)."""
    mu = imfilter(img, window, padding)
    sigma = np.sqrt(np.abs(imfilter(img * img, window, padding) - mu * mu))
    return (img - mu) / (sigma + 1.0)


def _first_argmin(values: np.ndarray) -> np.ndarray:
    """Index of the minimum along the last axis ignoring NaN, 0 when all are NaN (MATLAB ``min``)."""
    filled = np.where(np.isnan(values), np.inf, values)
    return np.argmin(filled, axis=-1)


def aggd_fit(vec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LIVE ``estimateaggdparam`` on the last axis: shape alpha and left/right std (batched)."""
    vec = np.asarray(vec, dtype=np.float64)
    neg = vec < 0
    pos = vec > 0
    sq = vec * vec
    with np.errstate(invalid="ignore", divide="ignore"):
        leftstd = np.sqrt((sq * neg).sum(-1) / neg.sum(-1))
        rightstd = np.sqrt((sq * pos).sum(-1) / pos.sum(-1))
        gammahat = leftstd / rightstd
        rhat = np.abs(vec).mean(-1) ** 2 / sq.mean(-1)
        rhatnorm = rhat * (gammahat**3 + 1) * (gammahat + 1) / (gammahat**2 + 1) ** 2
        idx = _first_argmin((_R_AGGD - rhatnorm[..., None]) ** 2)
    return GAMMA_GRID[idx], leftstd, rightstd


def ggd_fit(vec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LIVE BRISQUE ``estimateggdparam`` on the last axis: shape and standard deviation."""
    vec = np.asarray(vec, dtype=np.float64)
    sigma_sq = (vec * vec).mean(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = sigma_sq / np.abs(vec).mean(-1) ** 2
        idx = _first_argmin(np.abs(rho[..., None] - _R_GGD))
    return GAMMA_GRID[idx], np.sqrt(sigma_sq)
