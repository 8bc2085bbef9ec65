"""Temporal consistency: the warping error E*warp between consecutive frames (flicker you can measure).

``warping_error(cur, prev)``: the previous frame is warped onto the current one with optical flow, and the
squared difference is averaged over the pixels where the flow is trustworthy (a forward-backward
consistency check marks occlusions and pixels that leave the frame), as in Lai et al., "Learning Blind
Video Temporal Consistency" (ECCV 2018), the E*warp of recent real-world VSR papers. Flow: OpenCV's DIS
optical flow (preset "medium") on the grey frames, computed on the frames being scored: no weights, no
reference video needed. Units: mean squared error of RGB in [0, 1], times 1000 (papers' "x10^-3").
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import RealBasicVSRError

SCALE = 1e3  # reported as x10^-3


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W, 2) flow such that a(x) ~ b(x + flow(x)), from grey uint8 frames."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(a, b, None)


def _sample(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warping_error(cur: np.ndarray, prev: np.ndarray, *, crop_border: int = 0, return_mask: bool = False):
    """E*warp (x10^-3) of uint8 RGB frame ``cur`` against ``prev`` warped onto it; see the module doc."""
    if cur.shape != prev.shape or cur.ndim != 3 or cur.shape[2] != 3:
        raise RealBasicVSRError(f"warp: frames must be (H, W, 3) of one size, got {cur.shape} and {prev.shape}")
    if crop_border:
        c = crop_border
        cur, prev = cur[c:-c, c:-c], prev[c:-c, c:-c]
    g_cur = cv2.cvtColor(np.ascontiguousarray(cur), cv2.COLOR_RGB2GRAY)
    g_prev = cv2.cvtColor(np.ascontiguousarray(prev), cv2.COLOR_RGB2GRAY)
    back = _flow(g_cur, g_prev)  # cur(x) ~ prev(x + back(x))
    fwd = _flow(g_prev, g_cur)
    fwd_at = _sample(fwd, back)  # should be -back where the flow is consistent
    h, w = back.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    tx, ty = gx + back[..., 0], gy + back[..., 1]
    inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
    mismatch = np.square(back + fwd_at).sum(-1)
    # Sundaram et al.'s occlusion test, the one Lai et al. use
    mask = inside & (mismatch < 0.01 * (np.square(back).sum(-1) + np.square(fwd_at).sum(-1)) + 0.5)
    warped = _sample(prev.astype(np.float32) / 255, back)
    err = np.square(cur.astype(np.float32) / 255 - warped).mean(-1)
    value = float(err[mask].mean()) * SCALE if mask.any() else float("nan")
    return (value, mask) if return_mask else value
