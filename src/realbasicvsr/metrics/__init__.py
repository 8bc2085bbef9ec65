"""Image quality metrics exactly as their official codes compute them, on uint8 RGB arrays (H, W, 3).

No-reference: :func:`niqe` (LIVE release), :func:`brisque` (LIVE release), :func:`nrqm` (Ma et al.) and
:func:`pi` (PIRM2018). Full-reference: :func:`psnr` and :func:`ssim`. Temporal: :func:`warping_error`
(E*warp between consecutive frames). Against the bicubic upscale of the same input: :func:`invented_texture`
(high-frequency energy added where bicubic is flat). Every function takes ``channel=``
('gray', 'y', 'rgb') and ``crop_border=`` to switch convention; the defaults reproduce the official codes.
:func:`imresize` is MATLAB's bicubic ``imresize`` (with antialiasing), which the NR metrics depend on.
"""

from __future__ import annotations

from .brisque import brisque
from .fullref import psnr, ssim
from .imresize import imresize
from .niqe import niqe
from .nrqm import nrqm, pi
from .temporal import warping_error
from .texture import invented_texture

NO_REFERENCE = ("niqe", "brisque", "nrqm", "pi")
FULL_REFERENCE = ("psnr", "ssim")
TEMPORAL = ("warp",)  # scored on consecutive frame pairs (each frame against the one before it)
BASELINE = ("texture",)  # scored against the bicubic upscale of the same input (``base``), not the ground truth
ALL_METRICS = NO_REFERENCE + FULL_REFERENCE + TEMPORAL + BASELINE
HIGHER_IS_BETTER = {"nrqm": True, "psnr": True, "ssim": True, "niqe": False, "brisque": False, "pi": False,
                    "warp": False, "texture": False}
FUNCTIONS = {"niqe": niqe, "brisque": brisque, "nrqm": nrqm, "pi": pi, "psnr": psnr, "ssim": ssim,
             "texture": invented_texture}
# The conventions of the official codes (what each function does by default).
OFFICIAL = {
    "niqe": ("gray", 0),
    "brisque": ("gray", 0),
    "nrqm": ("gray", 0),
    "pi": ("y", 4),
    "psnr": ("rgb", 0),
    "ssim": ("gray", 0),
    "warp": ("rgb", 0),
    "texture": ("y", 0),
}

__all__ = [
    "ALL_METRICS", "BASELINE", "FULL_REFERENCE", "FUNCTIONS", "HIGHER_IS_BETTER", "NO_REFERENCE", "OFFICIAL", "TEMPORAL",
    "brisque", "imresize", "invented_texture", "niqe", "nrqm", "pi", "psnr", "ssim", "warping_error",
]
