"""MATLAB colour conversions, PSNR and SSIM conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.metrics import psnr, ssim
from realbasicvsr.metrics.color import planes, rgb2gray, rgb2y


def test_rgb2gray_and_rgb2ycbcr_round_like_matlab():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0], [10, 200, 30]]], np.uint8)
    # MATLAB: rgb2gray -> 76 150 29 255 0 124; rgb2ycbcr Y -> 81 145 41 235 16 122
    assert rgb2gray(px).tolist() == [[76, 150, 29, 255, 0, 124]]
    assert rgb2y(px).tolist() == [[81, 145, 41, 235, 16, 122]]


def test_planes_crop_and_channels(textured_image):
    img = textured_image(40, 50)
    assert [p.shape for p in planes(img, "rgb", 3)] == [(34, 44)] * 3
    with pytest.raises(RealBasicVSRError, match="unknown channel"):
        planes(img, "lab")
    with pytest.raises(RealBasicVSRError, match="too small"):
        planes(img, "gray", 20)


def test_psnr_is_skimage_convention_over_all_rgb_channels(textured_image):
    a = textured_image(32, 48, seed=1)
    b = a.copy()
    b[0, 0, 0] = a[0, 0, 0] ^ 0x10  # one pixel of one channel off by 16
    expected = 10 * math.log10(255**2 / (16**2 / (32 * 48 * 3)))
    assert psnr(a, b) == pytest.approx(expected, abs=1e-9)
    assert psnr(a, a) == math.inf
    # crop_border removes the changed pixel
    assert psnr(a, b, crop_border=1) == math.inf


def test_ssim_identity_symmetry_and_channel_options(textured_image):
    a = textured_image(64, 64, seed=1)
    b = textured_image(64, 64, seed=2)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, b) == pytest.approx(ssim(b, a), abs=1e-12)
    assert ssim(a, b) < 0.9
    per = [ssim(a[..., c:c + 1].repeat(3, 2), b[..., c:c + 1].repeat(3, 2), channel="rgb") for c in range(3)]
    assert ssim(a, b, channel="rgb") == pytest.approx(np.mean(per), abs=1e-12)
    assert ssim(a, b, channel="y") != ssim(a, b)


def test_ssim_has_no_automatic_downsampling(calib_images):
    # Wang's script would average-pool by round(384/256) = 2; the official value here is computed without it
    dist, ref = calib_images["I03"]
    assert ssim(dist, ref) == pytest.approx(0.6993, abs=5e-4)


def test_full_reference_size_mismatch_is_an_error():
    with pytest.raises(RealBasicVSRError, match="sizes differ"):
        psnr(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(RealBasicVSRError, match="at least 11x11"):
        ssim(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8))
