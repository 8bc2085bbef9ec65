"""BRISQUE exactly as the LIVE release (``brisquescore.m``: features, ``svm-scale``, libsvm ``svm-predict``).

The release writes the 36 features to a text file with ``%f``, rescales them with ``svm-scale -r allrange``
(printed with ``%g``) and runs an RBF epsilon-SVR (``allmodel``); the text round trips change the score in
the 4th digit, so they are reproduced here. The model files ship in the package (``data/brisque/``, with
LIVE's notice; sha256-checked before use), so BRISQUE works offline. With ``$REALBASICVSR_BRISQUE_URL`` set
(another copy of a release), or when the bundled copy is missing or damaged, they are downloaded into
``$REALBASICVSR_HOME/brisque/`` instead (sha256-checked too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.special import gamma as gamma_fn

from .. import hub
from ..errors import RealBasicVSRError
from .color import planes
from .imresize import imresize
from .matlab import aggd_fit, fspecial_gaussian, ggd_fit, mscn

_RELEASE = "https://raw.githubusercontent.com/utlive/BRISQUE/2e2a5ac04cd4b73ac0f5867de5b974581fa2d4d2/MATLAB/"
MODEL_FILES = {
    "allmodel": "8b04d6045f1b27261610c8ab1730fdcc14ec80bfab0f1ab5f703bbc2927314de",
    "allrange": "e47d753d96b631e1aa2dbac8c4e51ade767f2def8ce678c7130b6b3f90ee915f",
}
# Where the model is fetched from; override with $REALBASICVSR_BRISQUE_URL (a folder URL ending in '/').
URL_ENV = "REALBASICVSR_BRISQUE_URL"
BUNDLED_DIR = Path(str(resources.files(__package__).joinpath("data", "brisque")))
_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))


@dataclass(frozen=True)
class BrisqueModel:
    """The LIVE libsvm model: feature ranges, support vectors, their coefficients, RBF gamma and rho."""

    lower: float
    upper: float
    feature_min: np.ndarray
    feature_max: np.ndarray
    support_vectors: np.ndarray
    coefs: np.ndarray
    gamma: float
    rho: float


def model_dir() -> Path:
    """The cache folder that receives downloaded ``allmodel`` and ``allrange``."""
    return hub.cache_dir() / "brisque"


def bundled_model_intact() -> bool:
    """Whether the package's copy holds both model files with the release's sha256."""
    return all((BUNDLED_DIR / n).is_file() and hub.file_sha256(BUNDLED_DIR / n) == d for n, d in MODEL_FILES.items())


def model_folder() -> Path:
    """Where the model is read from: the bundled copy, or the download cache when ``$REALBASICVSR_BRISQUE_URL``
    names another copy or the bundled one is missing or damaged (a stripped install)."""
    if not os.environ.get(URL_ENV) and bundled_model_intact():
        return BUNDLED_DIR
    return ensure_model_files()


def ensure_model_files(base_url: str | None = None, *, progress: bool = True) -> Path:
    """Return the model folder, downloading ``allmodel``/``allrange`` from the LIVE release if missing."""
    folder = model_dir()
    base = base_url or os.environ.get(URL_ENV) or _RELEASE
    if not base.endswith("/"):
        base += "/"
    for name, digest in MODEL_FILES.items():
        hint = (
            f"BRISQUE needs the LIVE release files allmodel and allrange: put them in {folder} "
            f"(from {_RELEASE})"
        )
        hub.download(base + name, folder / name, sha256=digest, progress=progress, hint=hint)
    return folder


def _parse_range(text: str) -> tuple[float, float, np.ndarray, np.ndarray]:
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0][0] != "x":
        raise RealBasicVSRError("allrange is not an svm-scale range file (first line must be 'x')")
    lower, upper = float(lines[1][0]), float(lines[1][1])
    idx = [int(ln[0]) for ln in lines[2:]]
    fmin = np.zeros(max(idx))
    fmax = np.zeros(max(idx))
    for ln in lines[2:]:
        fmin[int(ln[0]) - 1], fmax[int(ln[0]) - 1] = float(ln[1]), float(ln[2])
    return lower, upper, fmin, fmax


def _parse_model(text: str, n_features: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    header: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines) and lines[i].strip() != "SV":
        key, _, value = lines[i].strip().partition(" ")
        header[key] = value
        i += 1
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise RealBasicVSRError("allmodel is not a libsvm epsilon-SVR model with an RBF kernel")
    rows = [ln.split() for ln in lines[i + 1 :] if ln.strip()]
    sv = np.zeros((len(rows), n_features))
    coefs = np.empty(len(rows))
    for r, parts in enumerate(rows):
        coefs[r] = float(parts[0])
        for item in parts[1:]:
            k, v = item.split(":")
            sv[r, int(k) - 1] = float(v)
    return sv, coefs, float(header["gamma"]), float(header["rho"])


def load_model(folder: str | Path) -> BrisqueModel:
    """Read ``allmodel`` and ``allrange`` (libsvm / svm-scale text formats) from ``folder``."""
    folder = Path(folder)
    try:
        lower, upper, fmin, fmax = _parse_range((folder / "allrange").read_text())
        sv, coefs, gamma, rho = _parse_model((folder / "allmodel").read_text(), len(fmin))
    except FileNotFoundError as e:
        raise RealBasicVSRError(f"BRISQUE model file missing: {e.filename}") from e
    except (ValueError, IndexError, KeyError) as e:
        raise RealBasicVSRError(f"BRISQUE model files in {folder} are malformed ({e})") from e
    return BrisqueModel(lower, upper, fmin, fmax, sv, coefs, gamma, rho)


@lru_cache(maxsize=4)
def _cached_model(folder: str) -> BrisqueModel:
    return load_model(folder)


def default_model() -> BrisqueModel:
    """The LIVE model: the bundled copy (no network), see :func:`model_folder`."""
    return _cached_model(str(model_folder()))


def brisque_features(plane: np.ndarray) -> np.ndarray:
    """The 36 LIVE BRISQUE features of one float64 plane (values 0..255), 18 per scale."""
    if min(plane.shape) < 8:
        raise RealBasicVSRError(f"BRISQUE needs an image of at least 8x8 pixels, got {plane.shape[1]}x{plane.shape[0]}")
    window = fspecial_gaussian(7, 7.0 / 6.0)
    feat: list[float] = []
    im = plane
    for _ in range(2):
        structdis = mscn(im, window, "zeros")
        alpha, std = ggd_fit(structdis.ravel())
        feat += [float(alpha), float(std) ** 2]
        for shift in _SHIFTS:
            pair = structdis * np.roll(structdis, shift, axis=(0, 1))
            alpha, lstd, rstd = aggd_fit(pair.ravel())
            const = np.sqrt(gamma_fn(1.0 / alpha)) / np.sqrt(gamma_fn(3.0 / alpha))
            mean = (rstd - lstd) * (gamma_fn(2.0 / alpha) / gamma_fn(1.0 / alpha)) * const
            feat += [float(alpha), float(mean), float(lstd) ** 2, float(rstd) ** 2]
        im = imresize(im, 0.5)
    out = np.asarray(feat)
    if not np.isfinite(out).all():
        raise RealBasicVSRError("BRISQUE is undefined for this image (flat: no local contrast to fit)")
    return out


def _g(x: np.ndarray) -> np.ndarray:
    """printf('%g') then strtod: round to 6 significant digits."""
    return np.array([float(f"{v:g}") for v in np.ravel(x)]).reshape(np.shape(x))


def svr_score(features: np.ndarray, model: BrisqueModel, *, text_rounding: bool = True) -> float:
    """``svm-scale`` + ``svm-predict`` of the release; ``text_rounding`` emulates its %f/%g text files."""
    x = np.array([float(f"{v:f}") for v in features]) if text_rounding else np.asarray(features, float)
    fmin, fmax = model.feature_min, model.feature_max
    span = np.where(fmax == fmin, 1.0, fmax - fmin)
    scaled = model.lower + (model.upper - model.lower) * (x - fmin) / span
    scaled = np.where(x == fmin, model.lower, np.where(x == fmax, model.upper, scaled))
    scaled = np.where(fmax == fmin, 0.0, scaled)
    if text_rounding:
        scaled = _g(scaled)
    d2 = ((model.support_vectors - scaled[None, :]) ** 2).sum(axis=1)
    value = float(np.dot(model.coefs, np.exp(-model.gamma * d2)) - model.rho)
    return float(_g(np.array(value))) if text_rounding else value


def brisque(
    img: np.ndarray,
    *,
    channel: str = "gray",
    crop_border: int = 0,
    model: BrisqueModel | None = None,
    text_rounding: bool = True,
) -> float:
    """BRISQUE of a uint8 RGB image (lower is better; LIVE scale about 0..100, may go negative).

    Defaults reproduce the LIVE release on ``rgb2gray``; ``channel='y'`` scores the Y of rgb2ycbcr (the
    paper's table), 'rgb' averages the three channels' scores.
    """
    model = model or default_model()
    return float(np.mean([svr_score(brisque_features(p), model, text_rounding=text_rounding) for p in planes(img, channel, crop_border)]))
