"""Full-reference PSNR (skimage convention) and SSIM (Wang et al.'s MATLAB ``ssim.m``)."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ..errors import RealBasicVSRError
from .color import planes
from .matlab import fspecial_gaussian


def _pair_planes(a: np.ndarray, b: np.ndarray, channel: str, crop_border: int) -> tuple[list, list]:
    if np.shape(a) != np.shape(b):
        raise RealBasicVSRError(f"image sizes differ: {np.shape(a)} vs {np.shape(b)}")
    return planes(a, channel, crop_border), planes(b, channel, crop_border)


def psnr(a: np.ndarray, b: np.ndarray, *, channel: str = "rgb", crop_border: int = 0) -> float:
    """PSNR in dB of two uint8 images, peak 255, MSE over all pixels of all chosen channels.

    Identical images give ``inf``. Default: all three RGB channels, no crop (``skimage``'s convention).
    """
    pa, pb = _pair_planes(a, b, channel, crop_border)
    mse = float(np.mean([np.mean((x - y) ** 2) for x, y in zip(pa, pb)]))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def ssim_plane(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of two float64 planes (0..255): 11x11 Gaussian (sigma 1.5), K = (0.01, 0.03), 'valid'."""
    if min(x.shape) < 11:
        raise RealBasicVSRError(f"SSIM needs images of at least 11x11 pixels, got {x.shape[1]}x{x.shape[0]}")
    # fspecial('gaussian', 11, 1.5) is the outer product of this normalised 1-D window: filter separably
    g = fspecial_gaussian(11, 1.5).sum(axis=0)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def filt(z: np.ndarray) -> np.ndarray:
        z = ndimage.correlate1d(ndimage.correlate1d(z, g, axis=0), g, axis=1)
        return z[5:-5, 5:-5]

    mu1, mu2 = filt(x), filt(y)
    s11 = filt(x * x) - mu1 * mu1
    s22 = filt(y * y) - mu2 * mu2
    s12 = filt(x * y) - mu1 * mu2
    num = (2 * mu1 * mu2 + c1) * (2 * s12 + c2)
    den = (mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2)
    return float(np.mean(num / den))


def ssim(a: np.ndarray, b: np.ndarray, *, channel: str = "gray", crop_border: int = 0) -> float:
    """SSIM of two uint8 images (Wang et al. 2004, without the script's automatic downsampling).

    Default: ``rgb2gray`` of both, no crop; 'y' uses the Y of rgb2ycbcr, 'rgb' averages the three channels.
    """
    pa, pb = _pair_planes(a, b, channel, crop_border)
    return float(np.mean([ssim_plane(x, y) for x, y in zip(pa, pb)]))
