"""The single degradation operations, applied to a list of float32 RGB frames (H, W, 3) in about [0, 1].

Frames of one list may have different sizes (the per-frame resize of the stochastic scheme). Every
function takes explicit per-frame parameters and, where it draws noise, an explicit
``numpy.random.Generator``; none of them touches global random state. Work is batched over frames where
that is cheaper than OpenCV's per-frame path (large blur kernels use one FFT over the whole clip).
"""

from __future__ import annotations

import functools
import io as _io
from typing import Sequence

import av
import cv2
import numpy as np
import scipy.fft
import torch

from ..errors import RealBasicVSRError
from ..io.colour import Colour, frame_to_rgb, rgb_to_frame
from ..io.video import x264_options

Frames = list[np.ndarray]

INTERPOLATION_FLAGS = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA, "bicubic": cv2.INTER_CUBIC}

# OpenCV's direct filter is cheaper than the FFT below this kernel size (it switches to a DFT itself
# from 11 on, one frame at a time).
_DIRECT_MAX_KERNEL = 9
# Larger kernels of numerical rank <= this (all isotropic Gaussians, many generalised ones) are applied as
# a sum of separable passes, cheaper than the batched FFT; singular values below the tolerance (relative
# to the largest) are dropped, far below float32 resolution.
_SEPARABLE_MAX_RANK = 3
_RANK_TOL = 1e-7


def gaussian_kernel_1d(size: int, sigma: float = 0.0) -> np.ndarray:
    """OpenCV's 1-D Gaussian (sigma <= 0: ``0.3 * ((size - 1) / 2 - 1) + 0.8``), float64 (size,)."""
    return cv2.getGaussianKernel(int(size), float(sigma)).ravel()


def unsharp_mask(
    frames: np.ndarray, kernel_size: int = 51, sigma: float = 0.0, weight: float = 0.5, threshold: float = 10.0
) -> np.ndarray:
    """Sharpen (N, H, W, 3) float32 frames by thresholded unsharp masking with a soft mask.

    ``res = img - G*img``; pixels where ``|res| * 255 > threshold`` form a mask blurred by G into a soft
    mask, which blends ``clip(img + weight * res, 0, 1)`` into the image. Border: reflect-101.
    """
    k = gaussian_kernel_1d(kernel_size, sigma).astype(np.float32)
    out = np.empty_like(frames, dtype=np.float32)
    for i, img in enumerate(frames):
        img = np.asarray(img, dtype=np.float32)
        res = img - cv2.sepFilter2D(img, -1, k, k, borderType=cv2.BORDER_REFLECT_101)
        mask = (np.abs(res) * 255 > threshold).astype(np.float32)
        soft = cv2.sepFilter2D(mask, -1, k, k, borderType=cv2.BORDER_REFLECT_101)
        sharp = np.clip(img + weight * res, 0, 1)
        out[i] = soft * sharp + (1 - soft) * img
    return out


def filter_frames(frames: Sequence[np.ndarray], kernels: np.ndarray) -> Frames:
    """Correlate frame i with ``kernels[i]`` (OpenCV filter2D semantics, reflect-101 border).

    Small kernels use OpenCV per frame, low-rank ones a few separable passes per frame, the rest one
    batched FFT over all frames (frames of different sizes are padded into one canvas; each frame's
    circular wrap stays inside its own padded region).
    """
    n = len(frames)
    if kernels.shape[0] != n:
        raise ValueError(f"{kernels.shape[0]} kernels for {n} frames")
    size = kernels.shape[-1]
    if size <= _DIRECT_MAX_KERNEL:
        return [
            cv2.filter2D(f, -1, k.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
            for f, k in zip(frames, kernels)
        ]
    u, sv, vt = np.linalg.svd(kernels)
    ranks = (sv > _RANK_TOL * sv[:, :1]).sum(axis=1)
    if ranks.max() <= _SEPARABLE_MAX_RANK:
        out = []
        for f, uu, ss, vv, r in zip(frames, u, sv, vt, ranks):
            acc = None
            for j in range(r):
                ky = (uu[:, j] * ss[j]).astype(np.float32)
                kx = vv[j].astype(np.float32)
                term = cv2.sepFilter2D(f, -1, kx, ky, borderType=cv2.BORDER_REFLECT_101)
                acc = term if acc is None else acc + term
            out.append(acc)
        return out
    p = size // 2
    hmax = max(f.shape[0] for f in frames)
    wmax = max(f.shape[1] for f in frames)
    hc = scipy.fft.next_fast_len(hmax + 2 * p, real=True)
    wc = scipy.fft.next_fast_len(wmax + 2 * p, real=True)
    # The same array object listed twice (a mirrored clip) is transformed once.
    slot: dict[int, int] = {}
    unique = [slot.setdefault(id(f), len(slot)) for f in frames]
    canvas = np.zeros((len(slot), 3, hc, wc), dtype=np.float32)
    for i, f in zip(unique, frames):
        padded = np.pad(f, ((p, p), (p, p), (0, 0)), mode="reflect")
        canvas[i, :, : padded.shape[0], : padded.shape[1]] = padded.transpose(2, 0, 1)
    kc = np.zeros((n, hc, wc), dtype=np.float32)
    kc[:, :size, :size] = kernels[:, ::-1, ::-1]  # correlation = convolution with the flipped kernel
    kc = np.roll(kc, (-p, -p), axis=(1, 2))
    spec = scipy.fft.rfft2(canvas)[unique] * scipy.fft.rfft2(kc)[:, None]
    out = scipy.fft.irfft2(spec, s=(hc, wc))
    return [
        np.ascontiguousarray(out[i, :, p : p + f.shape[0], p : p + f.shape[1]].transpose(1, 2, 0))
        for i, f in enumerate(frames)
    ]


def resize_frames(frames: Sequence[np.ndarray], sizes: Sequence[tuple[int, int]], interpolation: str) -> Frames:
    """Resize frame i to ``sizes[i]`` = (height, width) with OpenCV bilinear / area / bicubic."""
    flag = INTERPOLATION_FLAGS[interpolation]
    out = []
    for f, (h, w) in zip(frames, sizes):
        out.append(f if f.shape[:2] == (h, w) else cv2.resize(f, (int(w), int(h)), interpolation=flag))
    return out


def _split(flat: np.ndarray, counts: Sequence[int]) -> list[np.ndarray]:
    return np.split(flat, np.cumsum(counts)[:-1])


def add_gaussian_noise(
    frames: Sequence[np.ndarray], sigmas: np.ndarray, gray: bool, rng: np.random.Generator
) -> Frames:
    """Add N(0, sigma/255) noise, sigma per frame on the 0-255 scale; gray = one channel for all three."""
    shapes = [f.shape[:2] + ((1,) if gray else (3,)) for f in frames]
    counts = [int(np.prod(s)) for s in shapes]
    noise = _split(rng.standard_normal(sum(counts), dtype=np.float32), counts)
    return [
        f + nz.reshape(s) * np.float32(sig / 255.0) for f, nz, s, sig in zip(frames, noise, shapes, sigmas)
    ]


def _luma(img: np.ndarray) -> np.ndarray:
    """BT.601 gray of an RGB frame, (H, W, 1) (OpenCV's RGB->GRAY weights)."""
    return (img @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[..., None]


def add_poisson_noise(
    frames: Sequence[np.ndarray], scales: np.ndarray, gray: bool, rng: np.random.Generator
) -> Frames:
    """Add signal-dependent Poisson (shot) noise times a per-frame scale.

    The frame (or its gray version) is quantised to 8 bits; with ``vals = 2^ceil(log2(#levels))``
    the noise is ``poisson(q * vals) / vals - q``. One Poisson draw covers the whole clip.
    """
    srcs = [_luma(f) if gray else f for f in frames]
    levels = [np.clip(np.rint(s * 255), 0, 255).astype(np.uint8) for s in srcs]
    vals = [2.0 ** np.ceil(np.log2(np.count_nonzero(np.bincount(q.ravel(), minlength=256)))) for q in levels]
    lam = np.concatenate([q.ravel() * (v / 255.0) for q, v in zip(levels, vals)])
    draws = _split(rng.poisson(lam).astype(np.float32), [q.size for q in levels])
    out = []
    for f, q, d, v, sc in zip(frames, levels, draws, vals, scales):
        qf = q.astype(np.float32) / 255.0
        noise = d.reshape(q.shape) / np.float32(v) - qf
        out.append(f + noise * np.float32(sc))
    return out


def to_uint8(img: np.ndarray) -> np.ndarray:
    """[0, 1] float -> uint8 with rounding and clipping (never wrapping around)."""
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def jpeg_compress(frames: Sequence[np.ndarray], qualities: Sequence[int]) -> Frames:
    """Encode and decode each frame as a JPEG at its quality (1-100), in true RGB colour order."""
    out = []
    for f, q in zip(frames, qualities):
        bgr = np.ascontiguousarray(to_uint8(f)[..., ::-1])
        ok, buf = cv2.imencode(".jpg", bgr, [int(cv2.IMWRITE_JPEG_QUALITY), int(q)])
        if not ok:
            raise RuntimeError("OpenCV failed to encode a JPEG")
        out.append(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255.0)
    return out


@functools.lru_cache(maxsize=None)
def _encoder_available(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except Exception:
        return False
    return True


def resolve_encoder(codec: str) -> str:
    """The PyAV encoder name used for a recipe codec name.

    "h264" is FFmpeg's default H.264 encoder (libx264 in PyAV's wheels, so "h264" and "libx264" behave
    the same); if one H.264 name is missing the other is used.
    """
    candidates = {"libx264": ("libx264", "h264"), "h264": ("h264", "libx264")}.get(codec, (codec,))
    for name in candidates:
        if _encoder_available(name):
            return name
    raise RealBasicVSRError(f"video codec {codec!r} has no encoder in this PyAV/FFmpeg build")


# The colour conversion around the codec is the exact one the upscaler reads real videos with. swscale's
# default YCbCr -> RGB (``to_ndarray(format="rgb24")``) truncates: it darkened every decoded LQ frame by
# 1.0-1.4 levels (measured on blurred noise; 0 on greys), and models trained on it brighten real video.
_VIDEO_COLOUR = Colour("bt601", full_range=False, primaries=6, trc=6)


def video_compress(frames: Sequence[np.ndarray], codec: str, bitrate: int, size: tuple[int, int] | None = None,
                   rate: int = 1) -> Frames:
    """Encode the frames as one mp4 video in memory (``rate`` fps, yuv420p BT.601 limited, ``bitrate`` bit/s),
    decode it back.

    A video has one frame size: frames are first resized (bilinear) to ``size`` = (H, W), by default the
    first frame's. Odd sizes are edge-padded to even for yuv420p and cropped back after decoding.
    """
    if not frames:
        return []
    h, w = size or frames[0].shape[:2]
    he, we = h + h % 2, w + w % 2
    encoder = resolve_encoder(codec)
    buf = _io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream(encoder, rate=rate)
        stream.width, stream.height = we, he
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = int(bitrate)
        # x264's output depends on its thread count: keep it fixed. This reaches x264 (its SEI reads
        # threads=1 lookahead_threads=1 sliced_threads=0).
        stream.codec_context.thread_count = 1
        stream.options = x264_options(encoder)
        for i, f in enumerate(frames):
            if f.shape[:2] != (h, w):
                f = cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR)
            u8 = to_uint8(f)
            if (he, we) != (h, w):
                u8 = np.pad(u8, ((0, he - h), (0, we - w), (0, 0)), mode="edge")
            vframe = rgb_to_frame(u8, _VIDEO_COLOUR, "yuv420p")
            vframe.pts = i  # explicit timeline of one tick per frame for rate control (what PyAV would fill in)
            for packet in stream.encode(vframe):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buf.seek(0)
    out = []
    with av.open(buf, "r", format="mp4") as container:
        vstream = container.streams.video[0]
        vstream.codec_context.thread_count = 1
        for frame in container.decode(vstream):
            rgb = frame_to_rgb(frame, _VIDEO_COLOUR)
            out.append(rgb[:h, :w].astype(np.float32) / 255.0)
    if len(out) != len(frames):
        raise RuntimeError(f"video compression returned {len(out)} frames for {len(frames)} ({encoder})")
    return out


def quantize(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Round to 8-bit levels and clip to [0, 1]; frames must share one size. (N, H, W, 3) float32."""
    return np.stack([to_uint8(f) for f in frames]).astype(np.float32) / 255.0
