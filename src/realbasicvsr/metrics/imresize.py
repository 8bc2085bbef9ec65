"""MATLAB-exact ``imresize`` (bicubic, with antialiasing when shrinking) on float arrays.

The official NIQE/BRISQUE/NRQM codes build their second scale with MATLAB's ``imresize(im, 0.5)``; any other
resampler moves their scores. This module reproduces MATLAB's contribution weights (cubic kernel a = -0.5,
kernel stretched by 1/scale when shrinking, symmetric index mirroring, all-zero taps dropped) and its
order of dimensions (the one with the smallest scale first), on double data with no rounding.
"""

from __future__ import annotations

import math

import numpy as np


def cubic(x: np.ndarray) -> np.ndarray:
    """MATLAB's bicubic kernel (Keys, a = -0.5)."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * (
        (ax > 1) & (ax <= 2)
    )


def contributions(
    in_length: int, out_length: int, scale: float, antialiasing: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (out, P) and 0-based source indices (out, P) of one dimension, as MATLAB computes them."""
    kernel_width = 4.0
    if scale < 1 and antialiasing:
        kernel_width = kernel_width / scale
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    dist = u[:, None] - indices
    if scale < 1 and antialiasing:
        weights = scale * cubic(dist * scale)
    else:
        weights = cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # symmetric padding: 1..n, n..1 repeated
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    idx = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], idx[:, keep]


def _resize_axis(img: np.ndarray, axis: int, out_length: int, scale: float, antialiasing: bool) -> np.ndarray:
    weights, idx = contributions(img.shape[axis], out_length, scale, antialiasing)
    moved = np.moveaxis(img, axis, 0)
    out = np.zeros((out_length,) + moved.shape[1:], dtype=np.float64)
    wshape = (out_length,) + (1,) * (moved.ndim - 1)
    for p in range(weights.shape[1]):  # accumulate taps in order, like MATLAB's mex
        out += weights[:, p].reshape(wshape) * moved[idx[:, p]]
    return np.moveaxis(out, 0, axis)


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
    *,
    antialiasing: bool = True,
) -> np.ndarray:
    """Bicubic resize of a 2-D (or H, W, C) array, equal to MATLAB's ``imresize`` on double input.

    Give ``scale`` (output size = ceil(scale * size)) or ``output_shape`` (rows, cols; the scale per
    dimension is then out/in). The result is float64 and is neither rounded nor clipped.
    """
    img = np.asarray(img, dtype=np.float64)
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize expects a 2-D or 3-D array, got shape {img.shape}")
    in_h, in_w = img.shape[:2]
    if scale is not None:
        scales = (float(scale), float(scale))
        out_shape = (int(math.ceil(scale * in_h)), int(math.ceil(scale * in_w)))
    elif output_shape is not None:
        out_shape = (int(output_shape[0]), int(output_shape[1]))
        scales = (out_shape[0] / in_h, out_shape[1] / in_w)
    else:
        raise ValueError("imresize needs scale or output_shape")
    if min(out_shape) < 1:
        raise ValueError(f"imresize output would be empty: {out_shape}")
    order = [0, 1] if scales[0] <= scales[1] else [1, 0]
    out = img
    for axis in order:
        out = _resize_axis(out, axis, out_shape[axis], scales[axis], antialiasing)
    return out
