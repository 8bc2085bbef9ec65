"""Invented texture: how much high-frequency energy an upscaler adds where the bicubic upscale of the same
input is flat (hatching, checkerboards and painted grain that a viewer sees on skies and walls).

``invented_texture(out, base)``, with ``base`` the bicubic upscale of the same low-resolution frame at the
same scale, on the Y channel (MATLAB's ``rgb2ycbcr`` Y, 16..235):

- high frequency: ``hp(Y) = Y - G(Y)``, with ``G`` a Gaussian blur of sigma :data:`HP_SIGMA` px
  (what remains is detail finer than about 4 px, where hatch and checkerboard patterns live);
- flat: the pixels where the standard deviation of the base's Y over a :data:`WINDOW` x :data:`WINDOW`
  box is below :data:`FLAT_STD` grey levels (a window wide enough that a sharper edge's overshoot near a
  real edge falls outside the flat area);
- score: ``(E_out + FLOOR) / (E_base + FLOOR)``, where ``E_x`` is the mean of ``hp(Y_x)^2`` over the flat
  pixels and :data:`FLOOR` (grey levels^2, about uint8 rounding's own share) keeps a perfectly flat base from
  dividing by zero. The base scores exactly 1.0; a clean, sharper upscale stays near 1; a diagonal hatch of +-2
  grey levels over flat areas scores about 10. NaN when the base has no flat pixel.

A clip's score is the mean over its frames (``realbasicvsr evaluate --metrics texture --base BICUBIC``).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import RealBasicVSRError
from .color import planes

HP_SIGMA = 1.0
WINDOW = 9
FLAT_STD = 2.0
FLOOR = 0.25


def _high_pass(y: np.ndarray) -> np.ndarray:
    return y - cv2.GaussianBlur(y, (0, 0), HP_SIGMA, borderType=cv2.BORDER_REFLECT)


def flat_mask(base_y: np.ndarray) -> np.ndarray:
    """Pixels whose WINDOW x WINDOW neighbourhood in the base's Y has a standard deviation below FLAT_STD."""
    mean = cv2.boxFilter(base_y, -1, (WINDOW, WINDOW), borderType=cv2.BORDER_REFLECT)
    sq = cv2.boxFilter(base_y * base_y, -1, (WINDOW, WINDOW), borderType=cv2.BORDER_REFLECT)
    return np.sqrt(np.maximum(sq - mean * mean, 0)) < FLAT_STD


def invented_texture(frame: np.ndarray, base: np.ndarray, *, channel: str = "y", crop_border: int = 0) -> float:
    """High-frequency energy of ``frame`` over the bicubic ``base``'s, where the base is flat (1.0 = none added)."""
    if np.shape(frame) != np.shape(base):
        raise RealBasicVSRError(
            f"texture: the output and its bicubic base must have one size, got {np.shape(frame)} and {np.shape(base)}"
        )
    if channel == "rgb":
        raise RealBasicVSRError("texture is measured on one plane: use channel y or gray")
    (out_y,) = planes(frame, channel, crop_border)
    (base_y,) = planes(base, channel, crop_border)
    mask = flat_mask(base_y)
    if not mask.any():
        return float("nan")
    e_out = float(np.mean(np.square(_high_pass(out_y)[mask])))
    e_base = float(np.mean(np.square(_high_pass(base_y)[mask])))
    return (e_out + FLOOR) / (e_base + FLOOR)
