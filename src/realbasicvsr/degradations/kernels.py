"""Blur kernels of the seven families, built for many frames at once (one parameter set per frame).

All kernels are square with an odd size, normalised to sum to one, and indexed ``[row, column]`` with the
centre at ``(size // 2, size // 2)``; ``x`` is the column offset and ``y`` the row offset.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from ..errors import RealBasicVSRError


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Column (x) and row (y) offsets from the centre, each (size, size)."""
    if size < 1 or size % 2 != 1:
        raise RealBasicVSRError(f"blur kernel size must be a positive odd integer, got {size}")
    ax = np.arange(size, dtype=np.float64) - size // 2
    xx, yy = np.meshgrid(ax, ax)
    return xx, yy


def _as_batch(*values: ArrayLike) -> list[np.ndarray]:
    arrays = [np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in values]
    n = max(a.shape[0] for a in arrays)
    return [np.broadcast_to(a, (n,)) for a in arrays]


def quadratic_form(size: int, sigma_x: ArrayLike, sigma_y: ArrayLike, theta: ArrayLike) -> np.ndarray:
    """``x^T S^-1 x`` on the kernel grid with ``S = R diag(sx^2, sy^2) R^T``, R the rotation by theta."""
    sx, sy, th = _as_batch(sigma_x, sigma_y, theta)
    xx, yy = _grid(size)
    c, s = np.cos(th), np.sin(th)
    ix, iy = 1.0 / sx**2, 1.0 / sy**2
    a = c * c * ix + s * s * iy
    b = c * s * (ix - iy)
    d = s * s * ix + c * c * iy
    return a[:, None, None] * xx**2 + 2 * b[:, None, None] * xx * yy + d[:, None, None] * yy**2


def _normalise(k: np.ndarray) -> np.ndarray:
    return k / k.sum(axis=(-2, -1), keepdims=True)


def gaussian_kernels(size: int, sigma_x: ArrayLike, sigma_y: ArrayLike, theta: ArrayLike) -> np.ndarray:
    """Anisotropic Gaussian ``exp(-q/2)``; (N, size, size). Isotropic: pass sigma_y = sigma_x, theta = 0."""
    return _normalise(np.exp(-0.5 * quadratic_form(size, sigma_x, sigma_y, theta)))


def generalized_gaussian_kernels(
    size: int, sigma_x: ArrayLike, sigma_y: ArrayLike, theta: ArrayLike, beta: ArrayLike
) -> np.ndarray:
    """Generalised Gaussian ``exp(-0.5 q^beta)`` (beta < 1: heavy tails, > 1: flat top); (N, size, size)."""
    q = quadratic_form(size, sigma_x, sigma_y, theta)
    (b,) = _as_batch(beta)
    return _normalise(np.exp(-0.5 * np.power(q, b[:, None, None])))


def plateau_kernels(
    size: int, sigma_x: ArrayLike, sigma_y: ArrayLike, theta: ArrayLike, beta: ArrayLike
) -> np.ndarray:
    """Plateau-shaped ``1 / (1 + q^beta)``; (N, size, size)."""
    q = quadratic_form(size, sigma_x, sigma_y, theta)
    (b,) = _as_batch(beta)
    return _normalise(1.0 / (1.0 + np.power(q, b[:, None, None])))


def sinc_kernels(size: int, omega: ArrayLike) -> np.ndarray:
    """Circular low-pass ``omega J1(omega r) / (2 pi r)`` with centre ``omega^2 / (4 pi)``; (N, size, size).

    Used for ringing/overshoot artifacts; the kernel has negative lobes but still sums to one.
    """
    (w,) = _as_batch(omega)
    xx, yy = _grid(size)
    r = np.sqrt(xx**2 + yy**2)
    r_safe = np.where(r == 0, 1.0, r)
    k = w[:, None, None] * special.j1(w[:, None, None] * r_safe) / (2 * np.pi * r_safe)
    c = size // 2
    k[:, c, c] = w**2 / (4 * np.pi)
    return _normalise(k)


def make_kernels(kind: str, size: int, params: dict[str, np.ndarray]) -> np.ndarray:
    """Kernels of one family for N frames from per-frame parameter arrays; (N, size, size) float64.

    ``params`` holds the arrays the family needs: sigma_x (all but sinc), sigma_y and rotation (aniso),
    beta_gaussian (generalized), beta_plateau (plateau), omega (sinc).
    """
    if kind == "sinc":
        return sinc_kernels(size, params["omega"])
    sx = params["sigma_x"]
    if kind.endswith("aniso"):
        sy, th = params["sigma_y"], params["rotation"]
    elif kind.endswith("iso"):
        sy, th = sx, np.zeros_like(sx)
    else:
        raise RealBasicVSRError(f"unknown blur kernel type {kind!r}")
    if kind in ("iso", "aniso"):
        return gaussian_kernels(size, sx, sy, th)
    if kind.startswith("generalized"):
        return generalized_gaussian_kernels(size, sx, sy, th, params["beta_gaussian"])
    if kind.startswith("plateau"):
        return plateau_kernels(size, sx, sy, th, params["beta_plateau"])
    raise RealBasicVSRError(f"unknown blur kernel type {kind!r}")
