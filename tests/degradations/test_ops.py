"""Single degradation operations against OpenCV / direct formulas."""

import cv2
import numpy as np
import pytest

from realbasicvsr.degradations import kernels as K
from realbasicvsr.degradations import ops


def smooth_frames(n, h, w, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random((n, max(h // 8, 2), max(w // 8, 2), 3)).astype(np.float32)
    return [cv2.resize(b, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1) for b in base]


@pytest.mark.parametrize("size", [7, 9, 13, 21])
@pytest.mark.parametrize("kind", ["aniso", "iso", "generalized_iso", "sinc"])  # FFT, separable and mixed paths
def test_filter_frames_matches_opencv_filter2d_per_frame(size, kind):
    frames = smooth_frames(3, 40, 52)
    frames[1] = cv2.resize(frames[1], (30, 26))  # frames of different sizes share one batch
    frames[2] = frames[2][:9, :11].copy()  # smaller than the kernel: reflect-101 wraps more than once
    ks = K.make_kernels(kind, size, {"sigma_x": np.array([0.5, 2.0, 3.0]), "sigma_y": np.array([2.5, 0.4, 1.0]),
                                     "rotation": np.array([0.3, -1.0, 2.0]), "beta_gaussian": np.array([0.6, 1.0, 3.5]),
                                     "omega": np.array([0.7, 1.5, 3.0])})
    out = ops.filter_frames(frames, ks)
    for f, k, o in zip(frames, ks, out):
        ref = cv2.filter2D(f, -1, k.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
        assert o.shape == f.shape
        np.testing.assert_allclose(o, ref, atol=2e-5)


def test_filter_frames_shares_work_for_repeated_frames_without_changing_results():
    a, b = smooth_frames(2, 30, 30)
    ks = K.make_kernels("iso", 15, {"sigma_x": np.array([0.5, 1.0, 2.0, 3.0])})
    shared = ops.filter_frames([a, b, b, a], ks)
    copies = ops.filter_frames([a, b.copy(), b.copy(), a.copy()], ks)
    for s, c in zip(shared, copies):
        np.testing.assert_array_equal(s, c)
    assert not np.allclose(shared[0], shared[3])  # same frame, different kernels


def test_filter_frames_is_a_correlation_like_filter2d():
    f = smooth_frames(1, 32, 32)
    k = np.zeros((1, 11, 11))
    k[0, 5, 7] = 1.0  # picks the pixel two columns to the right
    out = ops.filter_frames(f, k)[0]
    np.testing.assert_allclose(out[:, :-2], f[0][:, 2:], atol=1e-5)


def test_unsharp_mask_matches_the_2d_formula():
    frames = np.stack(smooth_frames(2, 60, 70))
    frames[0, 20:40, 20:40] += 0.3  # a sharp edge
    frames = frames.clip(0, 1)
    out = ops.unsharp_mask(frames, 51, 0, 0.5, 10)
    g = cv2.getGaussianKernel(51, 0)
    x = np.arange(51) - 25
    np.testing.assert_allclose(g.ravel(), np.exp(-(x**2) / (2 * 8.0**2)) / np.exp(-(x**2) / 128).sum(), rtol=1e-6)
    k2 = (g @ g.T).astype(np.float32)
    for img, o in zip(frames, out):
        res = img - cv2.filter2D(img, -1, k2)
        mask = (np.abs(res) * 255 > 10).astype(np.float32)
        soft = cv2.filter2D(mask, -1, k2)
        ref = soft * np.clip(img + 0.5 * res, 0, 1) + (1 - soft) * img
        np.testing.assert_allclose(o, ref, atol=1e-5)
    assert np.abs(out[0] - frames[0]).max() > 0.05  # the edge was sharpened


def test_gaussian_noise_level_and_gray():
    frames = [np.full((64, 64, 3), 0.5, np.float32)] * 2
    out = ops.add_gaussian_noise(frames, np.array([5.0, 20.0]), False, np.random.default_rng(0))
    assert np.std(out[0] - 0.5) == pytest.approx(5 / 255, rel=0.05)
    assert np.std(out[1] - 0.5) == pytest.approx(20 / 255, rel=0.05)
    gray = ops.add_gaussian_noise(frames, np.array([10.0, 10.0]), True, np.random.default_rng(0))
    assert np.array_equal(gray[0][..., 0], gray[0][..., 2]) and not np.array_equal(out[0][..., 0], out[0][..., 2])


def test_poisson_noise_is_signal_dependent_and_zero_mean():
    rng = np.random.default_rng(1)
    dark = np.full((128, 128, 3), 0.1, np.float32)
    bright = np.full((128, 128, 3), 0.9, np.float32)
    ramp = np.broadcast_to(np.linspace(0, 1, 256, dtype=np.float32)[None, :, None], (64, 256, 3)).copy()
    out = ops.add_poisson_noise([dark, bright, ramp], np.array([1.0, 1.0, 1.0]), False, rng)
    # one level: vals = 1 -> lam = q, noise = poisson(q) - q
    assert abs(np.mean(out[0] - dark)) < 0.01 and abs(np.mean(out[1] - bright)) < 0.02
    assert np.std(out[1] - bright) > np.std(out[0] - dark)  # shot noise grows with the signal
    # 256 levels -> vals = 256: noise std at level q is sqrt(q / 256)
    assert np.std((out[2] - ramp)[:, 200:210]) == pytest.approx(np.sqrt(0.8 / 256), rel=0.15)
    gray = ops.add_poisson_noise([ramp], np.array([2.0]), True, rng)[0]
    d = gray - ramp
    np.testing.assert_allclose(d[..., 0], d[..., 1], atol=1e-6)


def test_jpeg_quality_orders_the_error():
    frames = smooth_frames(2, 64, 64, seed=3)
    frames = [np.clip(f + np.random.default_rng(0).normal(0, 0.05, f.shape), 0, 1).astype(np.float32) for f in frames]
    lo = ops.jpeg_compress(frames, [30, 30])
    hi = ops.jpeg_compress(frames, [95, 95])
    err = lambda a: np.mean([np.abs(x - f).mean() for x, f in zip(a, frames)])
    assert err(lo) > 1.5 * err(hi) > 0
    # colours survive in RGB order (a red patch stays red)
    red = np.zeros((32, 32, 3), np.float32)
    red[..., 0] = 1.0
    back = ops.jpeg_compress([red], [90])[0]
    assert back[..., 0].mean() > 0.9 and back[..., 2].mean() < 0.1


@pytest.mark.parametrize("codec", ["libx264", "h264", "mpeg4"])
def test_video_compression_changes_frames_keeps_count_and_size(codec):
    frames = smooth_frames(6, 48, 64, seed=4)
    out = ops.video_compress(frames, codec, 20_000)
    assert len(out) == 6 and all(o.shape == (48, 64, 3) for o in out)
    assert 0.002 < np.mean([np.abs(o - f).mean() for o, f in zip(out, frames)]) < 0.2


def test_video_compression_odd_and_mixed_sizes_and_no_wraparound():
    frames = smooth_frames(3, 33, 45)
    frames[1] = cv2.resize(frames[1], (40, 30))  # encoded at the first frame's size
    frames[2] = np.full((33, 45, 3), 1.4, np.float32)  # overshoot must clip to white, not wrap to dark
    out = ops.video_compress(frames, "libx264", 100_000)
    assert [o.shape for o in out] == [(33, 45, 3)] * 3
    assert out[2].mean() > 0.9


def test_h264_names_resolve_to_an_encoder():
    assert ops.resolve_encoder("h264") in ("h264", "libx264")
    assert ops.resolve_encoder("libx264") in ("h264", "libx264")
    assert ops.resolve_encoder("mpeg4") == "mpeg4"


def test_quantize_and_resize():
    q = ops.quantize([np.array([[[-0.2, 0.5, 1.3]]], np.float32)])
    np.testing.assert_array_equal(q, np.array([[[[0, 128 / 255, 1]]]], np.float32))
    out = ops.resize_frames(smooth_frames(2, 20, 30), [(10, 14), (40, 60)], "area")
    assert [o.shape for o in out] == [(10, 14, 3), (40, 60, 3)]
