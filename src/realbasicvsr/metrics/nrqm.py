"""NRQM (Ma et al., CVIU 2017, "Learning a no-reference quality metric for single-image super-resolution")
and the PIRM2018 perceptual index PI = ((10 - NRQM) + NIQE) / 2.

Three feature groups are computed on the grey image: local frequency statistics of 7x7 block DCTs (18
values over a 3-level Gaussian pyramid), global statistics of a divisively normalised steerable pyramid
(45 values) and the singular values of 5x5 blocks (75 values). Each group feeds one regression forest;
the score is ``[1, s1, s2, s3] @ linear``.

The trained model (``model.mat`` of github.com/chaoma99/sr-metric, MIT licence) is not bundled; it is read
from the path given, ``$REALBASICVSR_NRQM_MODEL``, or ``$REALBASICVSR_HOME/nrqm/model.mat`` (or
``model.npz``, the plain-numpy form written by :func:`save_model`).
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import fft as sfft
from scipy import ndimage
from scipy.special import gammaln

from .. import hub
from ..errors import RealBasicVSRError
from .color import planes
from .fullref import ssim_plane
from .imresize import imresize
from .matlab import fspecial_gaussian
from .niqe import niqe_plane
from .steerable import build_sf_pyramid

MODEL_ENV = "REALBASICVSR_NRQM_MODEL"
MODEL_SOURCE = "https://github.com/chaoma99/sr-metric (file model.mat)"

_GGD_GRID = 0.03 + 0.001 * np.arange(9971)
_GGD_RATIO = np.exp(gammaln(1.0 / _GGD_GRID) + gammaln(3.0 / _GGD_GRID) - 2.0 * gammaln(2.0 / _GGD_GRID))
_EPS = 1e-7


# ----------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Forest:
    """One regression forest in the randomForest (Liaw & Wiener) layout, arrays of shape (nodes, trees).

    ``left``/``right``: 1-based child node per node (0 for a leaf); ``feature``: 1-based split feature;
    ``threshold``: go left when ``x[feature] <= threshold``; ``value``: the node's prediction.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray

    def predict(self, x: np.ndarray) -> float:
        """Mean over trees of the leaf value reached by ``x`` (vectorised over trees)."""
        trees = np.arange(self.left.shape[1])
        node = np.zeros(len(trees), dtype=np.int64)
        for _ in range(self.left.shape[0]):
            active = self.left[node, trees] > 0
            if not active.any():
                break
            f = self.feature[node, trees].astype(np.int64) - 1
            go_left = x[np.clip(f, 0, len(x) - 1)] <= self.threshold[node, trees]
            nxt = np.where(go_left, self.left[node, trees], self.right[node, trees]).astype(np.int64) - 1
            node = np.where(active, nxt, node)
        return float(self.value[node, trees].mean())


@dataclass(frozen=True)
class NRQMModel:
    """Three forests (DCT, GSM, SVD features) and the 4 linear weights [bias, w1, w2, w3]."""

    forests: tuple[Forest, Forest, Forest]
    linear: np.ndarray


def _forest_from_mat(rf) -> Forest:
    def field(name: str) -> np.ndarray:
        return np.asarray(rf[name][0, 0], dtype=np.float64)

    return Forest(field("ldau"), field("rdau"), field("mbest"), field("upper"), field("avnode"))


def load_model(path: str | Path) -> NRQMModel:
    """Read Ma et al.'s ``model.mat`` (MATLAB struct ``model`` with ``rf`` and ``linear``) or the
    ``.npz`` layout of :func:`save_model`."""
    path = Path(path)
    if not path.is_file():
        raise RealBasicVSRError(f"NRQM model file not found: {path}")
    try:
        if path.suffix == ".npz":
            with np.load(path) as d:
                forests = tuple(
                    Forest(*(d[f"rf{k}_{n}"] for n in ("left", "right", "feature", "threshold", "value")))
                    for k in range(3)
                )
                linear = d["linear"].ravel()
        else:
            from scipy.io import loadmat

            m = loadmat(path)["model"]
            rf = m["rf"][0, 0]
            forests = tuple(_forest_from_mat(rf[0, k]) for k in range(3))
            linear = np.asarray(m["linear"][0, 0], dtype=np.float64).ravel()
    except (KeyError, ValueError, IndexError, TypeError, OSError, zipfile.BadZipFile) as e:
        raise RealBasicVSRError(f"{path} is not an NRQM model ({e})") from e
    if linear.shape != (4,):
        raise RealBasicVSRError(f"{path}: NRQM linear weights must have 4 values, got {linear.shape}")
    return NRQMModel(forests, linear)  # type: ignore[arg-type]


def save_model(model: NRQMModel, path: str | Path) -> Path:
    """Write ``model`` as a plain ``.npz`` (no MATLAB reader needed later)."""
    arrays = {"linear": model.linear}
    for k, f in enumerate(model.forests):
        for n in ("left", "right", "feature", "threshold", "value"):
            arrays[f"rf{k}_{n}"] = getattr(f, n)
    path = Path(path)
    np.savez(path, **arrays)
    return path


def find_model(path: str | Path | None = None) -> Path:
    """Where the NRQM model is: ``path``, ``$REALBASICVSR_NRQM_MODEL``, or the cache folder."""
    if path is not None:
        return Path(path)
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env)
    folder = hub.cache_dir() / "nrqm"
    for name in ("model.npz", "model.mat"):
        if (folder / name).is_file():
            return folder / name
    raise RealBasicVSRError(
        f"NRQM (and PI) need Ma et al.'s trained model: download model.mat from {MODEL_SOURCE} and put it "
        f"in {folder}, or set {MODEL_ENV}"
    )


_MODELS: dict[str, NRQMModel] = {}


def default_model(path: str | Path | None = None) -> NRQMModel:
    """The model found by :func:`find_model`, loaded once per path."""
    p = str(find_model(path).resolve())
    if p not in _MODELS:
        _MODELS[p] = load_model(p)
    return _MODELS[p]


# -------------------------------------------------------------------------------------- statistics


def _ggd_shape(x: np.ndarray) -> np.ndarray:
    """GGD shape per row: nearest grid value (0.03:0.001:10) to var / mean(|x - mean|)^2."""
    var = x.var(axis=-1, ddof=1)
    mad2 = np.abs(x - x.mean(axis=-1, keepdims=True)).mean(axis=-1) ** 2
    rho = var / (mad2 + _EPS)
    # the ratio table decreases with the shape: nearest neighbour by binary search on the reversed table
    rev = _GGD_RATIO[::-1]
    pos = np.clip(np.searchsorted(rev, rho), 1, len(rev) - 1)
    lo, hi = rev[pos - 1], rev[pos]
    pick = np.where(np.abs(rho - lo) <= np.abs(hi - rho), pos - 1, pos)
    return _GGD_GRID[len(rev) - 1 - pick]


def _cv(x: np.ndarray) -> np.ndarray:
    """Coefficient of variation of |x| per row."""
    a = np.abs(x)
    return a.std(axis=-1, ddof=1) / (a.mean(axis=-1) + _EPS)


# Positions (row, col) of the three orientation groups of a 7x7 DCT block.
def _group(spec: list[tuple[int, int, int]], transpose: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = [], []
    for r, c0, c1 in spec:
        for c in range(c0, c1):
            rows.append(r)
            cols.append(c)
    r, c = np.array(rows), np.array(cols)
    return (c, r) if transpose else (r, c)


_ORIENT = (
    _group([(0, 1, 7), (1, 2, 7), (2, 4, 7), (3, 5, 7)]),
    _group([(1, 1, 2), (2, 2, 4), (3, 2, 5), (4, 3, 7), (5, 4, 7), (6, 4, 7)]),
    _group([(0, 1, 7), (1, 2, 7), (2, 4, 7), (3, 5, 7)], transpose=True),
)


# ------------------------------------------------------------------------------------------ features


def gaussian_pyramid(img01: np.ndarray, levels: int = 2) -> list[np.ndarray]:
    """The image and ``levels`` reductions: 3x3 Gaussian (sigma 0.5, zero padding), keep im(2:2:end, 2:2:end)."""
    k = fspecial_gaussian(3, 0.5)
    pyr = [img01]
    for _ in range(levels):
        pyr.append(ndimage.correlate(pyr[-1], k, mode="constant")[1::2, 1::2])
    return pyr


def _blocks(img: np.ndarray, size: int, step: int, border: int) -> np.ndarray:
    """``blkproc``-style blocks: ``step`` x ``step`` tiles with ``border`` extra pixels each side (zero padded)."""
    h, w = img.shape
    nr, nc = math.ceil(h / step), math.ceil(w / step)
    padded = np.zeros((nr * step + 2 * border, nc * step + 2 * border))
    padded[border : border + h, border : border + w] = img
    win = np.lib.stride_tricks.sliding_window_view(padded, (size, size))[::step, ::step]
    return win.reshape(-1, size, size)


def dct_features(img01: np.ndarray) -> np.ndarray:
    """6 statistics of 7x7 block DCTs (3x3 blocks with a 2-pixel border): GGD shape, coefficient of
    variation and orientation variance (mean of the lowest/highest 10 % and mean of all)."""
    d = sfft.dctn(_blocks(img01, 7, 3, 2), type=2, norm="ortho", axes=(1, 2))
    ac = d.reshape(len(d), -1)[:, 1:]
    g = np.sort(_ggd_shape(ac))
    cv = np.sort(_cv(ac))
    ori = np.stack([_cv(d[:, r, c]) for r, c in _ORIENT], axis=1)
    ori = np.sort(ori.var(axis=1, ddof=1))
    n = len(g)
    return np.array(
        [
            g[: math.ceil(0.1 * n) + 1].mean(),
            g.mean(),
            cv[math.floor(0.9 * n) :].mean(),
            cv.mean(),
            ori[math.floor(0.9 * n) :].mean(),
            ori.mean(),
        ]
    )


def _divisive_normalise(bands: list[list[np.ndarray]], blk: int = 3, guard: int = 16) -> list[np.ndarray]:
    """DIIVINE's GSM normalisation: each coefficient divided by the local energy of its 3x3 neighbours,
    its parent (coarser scale, same orientation) and the other orientations at the same position."""
    border = blk // 2
    out = []
    nscales, nbands = len(bands), len(bands[0])
    for si in range(nscales):
        for bi in range(nbands):
            band = bands[si][bi]
            h, w = band.shape
            inner = (slice(border, h - border), slice(border, w - border))
            has_parent = si + 1 < nscales
            n = blk * blk + int(has_parent)
            # one row per neighbour (3x3 window, parent, other orientations), one column per position:
            # the row layout keeps the large products contiguous
            x = np.empty((n + nbands - 1, (h - 2 * border) * (w - 2 * border)))
            k = 0
            for dy in range(blk):
                for dx in range(blk):
                    x[k] = band[dy : h - 2 * border + dy, dx : w - 2 * border + dx].ravel()
                    k += 1
            if has_parent:
                x[k] = imresize(bands[si + 1][bi], output_shape=(h, w))[inner].ravel()
                k += 1
            for ni in range(nbands):
                if ni != bi:
                    x[k] = bands[si][ni][inner].ravel()
                    k += 1
            cov = x @ x.T / x.shape[1]
            lam, q = np.linalg.eigh(cov)
            pos = lam * (lam > 0)
            total = pos.sum()
            lam = pos * lam.sum() / (total if total != 0 else 1.0)
            cov = (q * lam) @ q.T
            z = np.sqrt(np.maximum(np.einsum("ij,ij->j", np.linalg.pinv(cov) @ x, x) / n, 0))
            centre = band[inner].ravel()
            centre = centre - centre.mean()
            with np.errstate(invalid="ignore", divide="ignore"):
                g = np.where(z != 0, centre / np.where(z != 0, z, 1), 0.0).reshape(h - 2 * border, w - 2 * border)
            gb = guard // (2**si)
            if g.shape[0] <= 2 * gb or g.shape[1] <= 2 * gb:
                raise RealBasicVSRError("NRQM needs an image of at least 72x72 pixels")
            g = g[gb:-gb, gb:-gb]
            out.append(g - g.mean())
    return out


def gsm_features(img255: np.ndarray) -> np.ndarray:
    """45 global statistics of the normalised 2-scale, 6-orientation steerable pyramid: 12 subband GGD
    shapes, 6 cross-scale shapes, 12 subband-vs-high-pass SSIMs and 15 SSIMs between orientations."""
    pyr = build_sf_pyramid(img255, 2, 5)
    sub = _divisive_normalise(pyr["levels"])
    nb = 6
    feat = [float(_ggd_shape(s.ravel()[None])[0]) for s in sub]
    for i in range(nb):
        both = np.concatenate([sub[i].ravel(), sub[i + nb].ravel()])
        feat.append(float(_ggd_shape(both[None])[0]))
    hp = pyr["highpass"]
    for s in sub:
        feat.append(ssim_plane(imresize(s, output_shape=hp.shape), hp))
    for i in range(nb):
        for j in range(i + 1, nb):
            feat.append(ssim_plane(sub[i], sub[j]))
    return np.asarray(feat)


def svd_features(pyr: list[np.ndarray]) -> np.ndarray:
    """25 singular values of the matrix of distinct 5x5 blocks (zero padded) at each pyramid level."""
    out = []
    for im in pyr:
        h, w = im.shape
        nr, nc = math.ceil(h / 5), math.ceil(w / 5)
        padded = np.zeros((nr * 5, nc * 5))
        padded[:h, :w] = im
        cols = padded.reshape(nr, 5, nc, 5).transpose(0, 2, 3, 1).reshape(-1, 25)
        out.append(np.linalg.svd(cols, compute_uv=False))
    return np.concatenate(out)


def nrqm_features(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three feature vectors (18, 45, 75) of one float64 plane with values 0..255."""
    if min(plane.shape) < 72:
        raise RealBasicVSRError(f"NRQM needs an image of at least 72x72 pixels, got {plane.shape[1]}x{plane.shape[0]}")
    pyr = gaussian_pyramid(plane / 255.0)
    f1 = np.concatenate([dct_features(p) for p in pyr])
    return f1, gsm_features(plane), svd_features(pyr)


def nrqm_plane(plane: np.ndarray, model: NRQMModel) -> float:
    """NRQM of one plane (0..255) with ``model``."""
    feats = nrqm_features(plane)
    preds = [f.predict(x) for f, x in zip(model.forests, feats)]
    return float(np.dot(np.concatenate([[1.0], preds]), model.linear))


def nrqm(
    img: np.ndarray, *, channel: str = "gray", crop_border: int = 0, model: NRQMModel | str | Path | None = None
) -> float:
    """NRQM (Ma et al.) of a uint8 RGB image (higher is better, about 0..10); defaults = ``quality_predict.m``
    on ``rgb2gray``, no crop. ``model``: an :class:`NRQMModel` or a path; None finds the default file."""
    m = model if isinstance(model, NRQMModel) else default_model(model)
    return float(np.mean([nrqm_plane(p, m) for p in planes(img, channel, crop_border)]))


def pi(
    img: np.ndarray, *, channel: str = "y", crop_border: int = 4, model: NRQMModel | str | Path | None = None
) -> float:
    """Perceptual index ((10 - NRQM) + NIQE) / 2 (lower is better) with the PIRM2018 convention: Y of
    rgb2ycbcr, 4-pixel shave, both scores on the same plane."""
    m = model if isinstance(model, NRQMModel) else default_model(model)
    scores = [0.5 * ((10.0 - nrqm_plane(p, m)) + niqe_plane(p)) for p in planes(img, channel, crop_border)]
    return float(np.mean(scores))
