"""Seconds per 720p frame for each metric (single process; numpy/scipy on the CPU).

Usage: python benchmarks/metrics.py [--repeat N] [--size 1280x720]

BRISQUE needs the LIVE model files ($REALBASICVSR_HOME/brisque, downloaded on first use); NRQM/PI use Ma
et al.'s model when it is found, else a synthetic forest of the same shape (the forests cost microseconds;
the time is in the features). A metric whose model can't be had is reported as skipped.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def synthetic_frame(w: int, h: int) -> np.ndarray:
    """A deterministic frame with texture, edges, flat areas and noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 128 + 50 * np.sin(x / 9.0) * np.cos(y / 13.0) + 40 * ((x // 64 + y // 64) % 2)
    img = np.stack([base, 0.8 * base + 25, 255 - 0.9 * base], -1) + rng.normal(0, 5, (h, w, 3))
    img[: h // 5, : w // 5] = 90  # a flat patch
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def synthetic_nrqm_model():
    """A 500-tree forest per feature group with depth-8 trees: the size class of the released model."""
    from realbasicvsr.metrics.nrqm import Forest, NRQMModel

    rng = np.random.default_rng(0)
    forests = []
    nodes, trees = 511, 500
    for dim in (18, 45, 75):
        idx = np.arange(1, nodes + 1)
        internal = idx <= 255
        left = np.where(internal, 2 * idx, 0)[:, None].repeat(trees, 1).astype(float)
        right = np.where(internal, 2 * idx + 1, 0)[:, None].repeat(trees, 1).astype(float)
        forests.append(Forest(left, right, rng.integers(1, dim + 1, (nodes, trees)).astype(float),
                              rng.normal(size=(nodes, trees)), rng.uniform(0, 10, (nodes, trees))))
    return NRQMModel(tuple(forests), np.array([0.0, 0.3, 0.3, 0.4]))


def main() -> None:
    from realbasicvsr.errors import RealBasicVSRError
    from realbasicvsr.metrics import brisque, niqe, nrqm, pi, psnr, ssim
    from realbasicvsr.metrics.nrqm import default_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    img = synthetic_frame(w, h)
    ref = np.clip(img.astype(int) + np.random.default_rng(1).integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
    try:
        nrqm_model, nrqm_note = default_model(), "Ma et al. model"
    except RealBasicVSRError:
        nrqm_model, nrqm_note = synthetic_nrqm_model(), "synthetic 3x500-tree forests"
    cases = {
        "psnr": (lambda: psnr(img, ref), "RGB"),
        "ssim": (lambda: ssim(img, ref), "gray"),
        "niqe": (lambda: niqe(img), "gray, LIVE release"),
        "brisque": (lambda: brisque(img), "gray, LIVE release"),
        "nrqm": (lambda: nrqm(img, model=nrqm_model), nrqm_note),
        "pi": (lambda: pi(img, model=nrqm_model), "Y, 4-px shave; " + nrqm_note),
    }
    print(f"| metric | seconds per {w}x{h} frame | note |")
    print("|:---|---:|:---|")
    for name, (fn, note) in cases.items():
        try:
            fn()  # warm-up (loads models, caches tables)
        except RealBasicVSRError as e:
            print(f"| {name} | skipped | {e} |")
            continue
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        print(f"| {name} | {min(times):.3f} | {note} |", flush=True)


if __name__ == "__main__":
    main()
