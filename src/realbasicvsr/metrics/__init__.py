"""Image quality metrics exactly as their official codes compute them, on uint8 RGB arrays (H, W, 3).

No-reference: :func:`niqe` (LIVE release), :func:`brisque` (LIVE release), :func:`nrqm` (Ma et al.) and
:func:`pi` (PIRM2018). Full-reference: :func:`psnr` and :func:`ssim`. Every function takes ``channel=``
('gray', 'y', 'rgb') and ``crop_border=`` to switch convention; the defaults reproduce the official codes.
:func:`imresize` is MATLAB's bicubic ``imresize`` (with antialiasing), which the NR metrics depend on.
"""

from __future__ import annotations

from .brisque import brisque
from .fullref import psnr, ssim
from .imresize import imresize
from .niqe import niqe
from .nrqm import nrqm, pi

NO_REFERENCE = ("niqe", "brisque", "nrqm", "pi")
FULL_REFERENCE = ("psnr", "ssim")
ALL_METRICS = NO_REFERENCE + FULL_REFERENCE
HIGHER_IS_BETTER = {"nrqm": True, "psnr": True, "ssim": True, "niqe": False, "brisque": False, "pi": False}
FUNCTIONS = {"niqe": niqe, "brisque": brisque, "nrqm": nrqm, "pi": pi, "psnr": psnr, "ssim": ssim}
# The conventions of the official codes (what each function does by default).
OFFICIAL = {
    "niqe": ("gray", 0),
    "brisque": ("gray", 0),
    "nrqm": ("gray", 0),
    "pi": ("y", 4),
    "psnr": ("rgb", 0),
    "ssim": ("gray", 0),
}

__all__ = [
    "ALL_METRICS", "FULL_REFERENCE", "FUNCTIONS", "HIGHER_IS_BETTER", "NO_REFERENCE", "OFFICIAL",
    "brisque", "imresize", "niqe", "nrqm", "pi", "psnr", "ssim",
]
