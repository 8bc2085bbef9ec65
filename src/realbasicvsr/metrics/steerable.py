"""Real steerable pyramid in the frequency domain (the ``buildSFpyr`` of Simoncelli's matlabPyrTools).

NRQM's global statistics (Ma et al., inherited from DIIVINE) are computed on the oriented subbands of this
pyramid; the raised-cosine radial masks, the cos^order angular masks and the centred cropping of the
spectrum between levels follow the toolbox's definitions.
"""

from __future__ import annotations

import math

import numpy as np


def _rcos(width: float, position: float) -> tuple[np.ndarray, np.ndarray]:
    """``rcosFn(width, position, [0 1])``: a raised-cosine step sampled on 259 points."""
    sz = 256
    x = np.pi * np.arange(-sz - 1, 2) / (2 * sz)
    y = np.cos(x) ** 2
    y[0] = y[1]
    y[sz + 2] = y[sz + 1]
    return position + (2 * width / np.pi) * (x + np.pi / 4), y


def _point_op(img: np.ndarray, lut: np.ndarray, origin: float, increment: float) -> np.ndarray:
    """``pointOp``: piecewise-linear lookup of ``lut`` sampled at origin + k * increment (clamped ends)."""
    xs = origin + increment * np.arange(len(lut))
    return np.interp(img, xs, lut)


def build_sf_pyramid(img: np.ndarray, height: int, order: int, twidth: float = 1.0) -> dict:
    """Decompose ``img`` into a high-pass residual, ``height`` levels of ``order + 1`` real oriented
    bands (full size first, each further level half the size) and a low-pass residual."""
    nbands = order + 1
    dims = np.array(img.shape)
    ctr = np.ceil((dims + 0.5) / 2).astype(int)
    xr = (np.arange(1, dims[1] + 1) - ctr[1]) / (dims[1] / 2)
    yr = (np.arange(1, dims[0] + 1) - ctr[0]) / (dims[0] / 2)
    xramp, yramp = np.meshgrid(xr, yr)
    angle = np.arctan2(yramp, xramp)
    log_rad = np.sqrt(xramp**2 + yramp**2)
    log_rad[ctr[0] - 1, ctr[1] - 1] = log_rad[ctr[0] - 1, ctr[1] - 2]
    log_rad = np.log2(log_rad)

    xrcos, yrcos = _rcos(twidth, -twidth / 2)
    yrcos = np.sqrt(yrcos)
    yircos = np.sqrt(1.0 - yrcos**2)
    step = xrcos[1] - xrcos[0]
    imdft = np.fft.fftshift(np.fft.fft2(img))
    lo0mask = _point_op(log_rad, yircos, xrcos[0], step)
    hi0mask = _point_op(log_rad, yrcos, xrcos[0], step)
    highpass = np.real(np.fft.ifft2(np.fft.ifftshift(imdft * hi0mask)))
    lodft = imdft * lo0mask

    lutsize = 1024
    xcosn = np.pi * np.arange(-(2 * lutsize + 1), lutsize + 2) / lutsize
    const = (2 ** (2 * order)) * (math.factorial(order) ** 2) / (nbands * math.factorial(2 * order))
    ycosn = np.sqrt(const) * np.cos(xcosn) ** order
    phase = (-1j) ** order
    levels = []
    for _ in range(height):
        xrcos = xrcos - 1.0
        himask = _point_op(log_rad, yrcos, xrcos[0], step)
        bands = []
        for b in range(nbands):
            anglemask = _point_op(angle, ycosn, xcosn[0] + np.pi * b / nbands, xcosn[1] - xcosn[0])
            banddft = phase * lodft * anglemask * himask
            bands.append(np.real(np.fft.ifft2(np.fft.ifftshift(banddft))))
        levels.append(bands)
        dims = np.array(lodft.shape)
        ctr = np.ceil((dims + 0.5) / 2).astype(int)
        lodims = np.ceil((dims - 0.5) / 2).astype(int)
        loctr = np.ceil((lodims + 0.5) / 2).astype(int)
        lostart = ctr - loctr
        loend = lostart + lodims
        sl = (slice(lostart[0], loend[0]), slice(lostart[1], loend[1]))
        log_rad, angle, lodft = log_rad[sl], angle[sl], lodft[sl]
        yircos = np.abs(np.sqrt(1.0 - yrcos**2))
        lodft = _point_op(log_rad, yircos, xrcos[0], step) * lodft
    lowpass = np.real(np.fft.ifft2(np.fft.ifftshift(lodft)))
    return {"highpass": highpass, "levels": levels, "lowpass": lowpass}
