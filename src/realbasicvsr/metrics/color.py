"""Colour conversions and channel/crop conventions of the official metric codes (MATLAB semantics)."""

from __future__ import annotations

import numpy as np

from ..errors import RealBasicVSRError

# MATLAB rgb2gray: the first row of inv([1 .956 .621; 1 -.272 -.647; 1 -1.106 1.703]).
GRAY_COEFFS = (0.298936021293775, 0.587043074451121, 0.114020904255103)
# MATLAB rgb2ycbcr (BT.601, studio range): Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255.
Y_COEFFS = (65.481, 128.553, 24.966)

CHANNELS = ("gray", "y", "rgb")


def _round_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's conversion to uint8: round half away from zero, saturate."""
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


def as_uint8_rgb(img: np.ndarray) -> np.ndarray:
    """Validate an (H, W, 3) uint8 RGB frame (or (H, W) gray) and return it unchanged."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise RealBasicVSRError(f"metrics take uint8 images, got dtype {img.dtype}")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise RealBasicVSRError(f"metrics take (H, W, 3) RGB or (H, W) images, got shape {img.shape}")
    return img


def rgb2gray(img: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` on uint8 RGB: the weighted sum rounded back to uint8."""
    f = img.astype(np.float64)
    return _round_uint8(GRAY_COEFFS[0] * f[..., 0] + GRAY_COEFFS[1] * f[..., 1] + GRAY_COEFFS[2] * f[..., 2])


def rgb2y(img: np.ndarray) -> np.ndarray:
    """Y of MATLAB ``rgb2ycbcr`` on uint8 RGB (range 16..235), rounded to uint8."""
    f = img.astype(np.float64)
    return _round_uint8(16.0 + (Y_COEFFS[0] * f[..., 0] + Y_COEFFS[1] * f[..., 1] + Y_COEFFS[2] * f[..., 2]) / 255.0)


def shave(img: np.ndarray, crop_border: int) -> np.ndarray:
    """Remove ``crop_border`` pixels on every side (the PIRM/BasicSR 'shave')."""
    if crop_border < 0:
        raise RealBasicVSRError(f"crop_border must be >= 0, got {crop_border}")
    if crop_border == 0:
        return img
    if img.shape[0] <= 2 * crop_border or img.shape[1] <= 2 * crop_border:
        raise RealBasicVSRError(f"image {img.shape[1]}x{img.shape[0]} is too small for crop_border={crop_border}")
    return img[crop_border:-crop_border, crop_border:-crop_border]


def planes(img: np.ndarray, channel: str, crop_border: int = 0) -> list[np.ndarray]:
    """The float64 planes a metric scores: one plane for 'gray'/'y', three for 'rgb'; then shaved."""
    img = as_uint8_rgb(img)
    if channel not in CHANNELS:
        raise RealBasicVSRError(f"unknown channel {channel!r}; choose one of {', '.join(CHANNELS)}")
    if img.ndim == 2:
        out = [img]
    elif channel == "gray":
        out = [rgb2gray(img)]
    elif channel == "y":
        out = [rgb2y(img)]
    else:
        out = [img[..., c] for c in range(3)]
    return [shave(p, crop_border).astype(np.float64) for p in out]
