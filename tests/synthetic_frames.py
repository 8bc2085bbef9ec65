"""A procedural test frame shared by the upscaling and metric tests (tests/ is on sys.path via conftest)."""

from __future__ import annotations

import numpy as np


def frame(i: int, h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth, textured frame that moves by (+2, +1) px per index, so flows are non-trivial."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = x + 2 * i, y + i
    r = 0.5 + 0.35 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 0.5 + 0.35 * np.sin((x + y) / 9.0)
    b = 0.5 + 0.3 * np.cos(x / 11.0 - y / 4.0)
    return (np.stack([r, g, b], -1) * 255).round().astype(np.uint8)
