"""Every pixel format the bundled FFmpeg decodes to upscales: right size, right colours, no frame dropped.

Each case writes a short clip in one codec/container/pixel format (MJPEG webcam files in 4:2:2 full range
among them), upscales it with ``bicubic`` through the CLI and through the API, and compares every output
frame, decoded with textbook BT.601 formulas from its tags, with the RGB frame the test encoded: the flat
centre's mean colour, and the whole frame after an area downscale. The package's conversion code judges
nothing."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from realbasicvsr.cli import main
from realbasicvsr.inference import UpscaleSettings, upscale
from realbasicvsr.io.colour import frame_to_rgb

PATCH = (200, 80, 40)
BT601, LIMITED, FULL = 6, 1, 2

# id: (codec, extension, pixel format, (H, W), encoder options); full range for yuvj*, grey and RGB-like
CASES = {
    "mjpeg-avi-yuvj422p": ("mjpeg", ".avi", "yuvj422p", (48, 64), {"qscale": "2"}),
    "mjpeg-mov-yuvj422p": ("mjpeg", ".mov", "yuvj422p", (48, 64), {"qscale": "2"}),
    "mjpeg-avi-yuvj420p": ("mjpeg", ".avi", "yuvj420p", (48, 64), {"qscale": "2"}),
    "mjpeg-mkv-yuvj444p-odd": ("mjpeg", ".mkv", "yuvj444p", (45, 61), {"qscale": "2"}),
    "mjpeg-avi-yuvj422p-odd": ("mjpeg", ".avi", "yuvj422p", (46, 61), {"qscale": "2"}),
    "ffv1-yuv420p-odd": ("ffv1", ".mkv", "yuv420p", (47, 63), {}),
    "ffv1-yuv411p": ("ffv1", ".mkv", "yuv411p", (48, 64), {}),
    "ffv1-yuv410p": ("ffv1", ".mkv", "yuv410p", (48, 64), {}),
    "ffv1-yuv440p": ("ffv1", ".mkv", "yuv440p", (48, 64), {}),
    "ffv1-yuv422p12le": ("ffv1", ".mkv", "yuv422p12le", (48, 64), {}),
    "ffv1-yuv444p16le": ("ffv1", ".mkv", "yuv444p16le", (48, 64), {}),
    "ffv1-yuva420p": ("ffv1", ".mkv", "yuva420p", (48, 64), {}),
    "ffv1-gray": ("ffv1", ".mkv", "gray", (48, 64), {}),
    "ffv1-gray16le": ("ffv1", ".mkv", "gray16le", (48, 64), {}),
    "ffv1-bgra": ("ffv1", ".mkv", "bgra", (48, 64), {}),
    "ffv1-gbrp10le": ("ffv1", ".mkv", "gbrp10le", (48, 64), {}),
    "ffv1-rgb48le": ("ffv1", ".mkv", "rgb48le", (48, 64), {}),
    "prores-yuv422p10le": ("prores_ks", ".mov", "yuv422p10le", (48, 64), {}),
    "prores-yuva444p10le": ("prores_ks", ".mov", "yuva444p10le", (48, 64), {}),
    "png-mov-rgb24": ("png", ".mov", "rgb24", (48, 64), {}),
    "png-mov-rgba": ("png", ".mov", "rgba", (48, 64), {}),
    "png-mov-rgb48be": ("png", ".mov", "rgb48be", (48, 64), {}),
    "png-mov-pal8": ("png", ".mov", "pal8", (48, 64), {}),
    "png-mov-ya8": ("png", ".mov", "ya8", (48, 64), {}),
    "rawvideo-avi-bgr24": ("rawvideo", ".avi", "bgr24", (48, 64), {}),
    "rawvideo-avi-yuyv422": ("rawvideo", ".avi", "yuyv422", (48, 64), {}),
    "rawvideo-mkv-nv12": ("rawvideo", ".mkv", "nv12", (48, 64), {}),
    "rawvideo-mkv-uyvy422": ("rawvideo", ".mkv", "uyvy422", (48, 64), {}),
    "y4m-yuv444p": ("rawvideo", ".y4m", "yuv444p", (48, 64), {}),
    "h264-yuv422p10le": ("libx264", ".mp4", "yuv422p10le", (48, 64), {"crf": "8"}),
    "h264-yuv444p10le": ("libx264", ".mkv", "yuv444p10le", (48, 64), {"crf": "8"}),
    "h264-nv12": ("libx264", ".mp4", "nv12", (48, 64), {"crf": "8"}),
    "h264-gray": ("libx264", ".mkv", "gray", (48, 64), {"crf": "8"}),
    "hevc-yuv420p12le": ("libx265", ".mkv", "yuv420p12le", (48, 64), {"x265-params": "log-level=none:lossless=1"}),
    "vp9-yuv444p": ("libvpx-vp9", ".webm", "yuv444p", (48, 64), {"lossless": "1"}),
    "utvideo-gbrp": ("utvideo", ".avi", "gbrp", (48, 64), {}),
    "qtrle-argb": ("qtrle", ".mov", "argb", (48, 64), {}),
    "gif-pal8": ("gif", ".gif", "pal8", (48, 64), {}),
}
LOSSY = {"mjpeg", "prores_ks", "libx264"}


def content(i: int, h: int, w: int, pix_fmt: str) -> np.ndarray:
    """PATCH in the middle half of the rows, blending smoothly into moving colour ramps towards the top and bottom;
    for palettes, in steps of 32 levels (at most 256 colours)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = np.stack([128 + 60 * np.sin((x + 3 * i) / 16 + c) * np.cos(y / 12) for c in (0, 2, 4)], -1)
    weight = np.clip((np.abs(y - (h - 1) / 2) - h / 4) / (h / 8), 0, 1)[..., None]
    rgb = np.array(PATCH, np.float32) * (1 - weight) + ramp * weight
    if pix_fmt == "pal8":
        rgb = np.where(weight > 0, rgb // 32 * 32, rgb)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


# packed and semi-planar YCbCr -> the planar layout they repack (swscale's direct RGB -> YUYV ignores the range)
PLANAR_TWIN = {"yuyv422": "yuv422p", "uyvy422": "yuv422p", "nv12": "yuv420p", "nv21": "yuv420p",
               "nv16": "yuv422p", "nv24": "yuv444p", "p010le": "yuv420p10le", "p016le": "yuv420p16le"}


def full_range(pix_fmt: str) -> bool:
    return pix_fmt.startswith(("yuvj", "gray", "ya")) or not pix_fmt.startswith(("yuv", "nv", "p0", "uyvy", "yuyv"))


def to_format(rgb: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """An RGB frame in ``pix_fmt`` (swscale, BT.601; palettes: an exact palette of the frame's colours)."""
    if pix_fmt == "pal8":
        colours, idx = np.unique(rgb.reshape(-1, 3), axis=0, return_inverse=True)
        assert len(colours) <= 256
        palette = np.zeros((256, 4), np.uint8)  # PyAV takes the palette's entries as A, R, G, B bytes
        palette[:, 0] = 255
        palette[: len(colours), 1:] = colours
        return av.VideoFrame.from_ndarray((idx.reshape(rgb.shape[:2]).astype(np.uint8), palette), format="pal8")
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    rng = FULL if full_range(pix_fmt) else LIMITED
    planar = frame.reformat(format=PLANAR_TWIN.get(pix_fmt, pix_fmt), dst_colorspace=BT601, dst_color_range=rng)
    return planar.reformat(format=pix_fmt, src_color_range=rng, dst_color_range=rng)


def write_clip(path: Path, codec: str, pix_fmt: str, size: tuple[int, int], options: dict, n: int) -> Path:
    h, w = size
    rng = FULL if full_range(pix_fmt) else LIMITED
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=10)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        s.codec_context.colorspace, s.codec_context.color_range = BT601, rng
        if options:
            s.options = options
        for i in range(n):
            f = to_format(content(i, h, w, pix_fmt), pix_fmt)
            f.colorspace, f.color_range, f.pts = BT601, rng, i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def expected(i: int, h: int, w: int, pix_fmt: str) -> np.ndarray:
    """What frame ``i`` of the clip holds: the content itself, its BT.601 luma for grey formats."""
    rgb = content(i, h, w, pix_fmt)
    if pix_fmt.startswith(("gray", "ya")):
        luma = np.rint(rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114]))
        return np.repeat(luma[..., None], 3, -1)
    return rgb.astype(np.float64)


def decode_output(path: Path) -> list[np.ndarray]:
    """The upscaled 4:2:0 output as RGB with textbook BT.601 limited-range formulas (what its tags say;
    swscale's own limited-range decode is up to 2 levels off, too coarse to judge by)."""
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            assert frame.format.name in ("yuv420p", "yuv420p10le")
            assert (int(frame.colorspace), int(frame.color_range)) == (BT601, LIMITED)  # SD output, tagged
            one = 4.0 if frame.format.name.endswith("10le") else 1.0
            dtype = np.uint16 if one > 1 else np.uint8
            y, cb, cr = (np.frombuffer(p, dtype).reshape(p.height, -1)[:, : p.width].astype(np.float64)
                         for p in frame.planes)
            cb, cr = (np.repeat(np.repeat(c, 2, 0), 2, 1) for c in (cb, cr))
            y, cb, cr = (y - 16 * one) / (219 * one), (cb - 128 * one) / (224 * one), (cr - 128 * one) / (224 * one)
            r, b = y + 1.402 * cr, y + 1.772 * cb
            g = (y - 0.299 * r - 0.114 * b) / 0.587
            out.append(np.stack([r, g, b], -1) * 255)
    return out


def centre(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return rgb[3 * h // 8 : h - 3 * h // 8, w // 4 : w - w // 4].reshape(-1, 3).mean(0)


def check_output(out: Path, codec: str, pix_fmt: str, size: tuple[int, int], n: int) -> None:
    after = decode_output(out)
    h, w = size
    assert len(after) == n, f"{len(after)} frames written for {n}"
    tol = 2.5 if codec in LOSSY else 1.5
    for i, a in enumerate(after):
        truth = expected(i, h, w, pix_fmt)
        assert a.shape == (4 * h, 4 * w, 3)
        assert np.abs(centre(a) - centre(truth)).max() <= tol, (centre(a), centre(truth))
        small = cv2.resize(a, (w, h), interpolation=cv2.INTER_AREA)
        assert np.abs(small - truth).mean() <= 3.0, np.abs(small - truth).mean()


@pytest.mark.parametrize("case", CASES)
def test_every_pixel_format_upscales_with_its_colours(tmp_path: Path, case: str) -> None:
    codec, ext, pix_fmt, size, options = CASES[case]
    try:
        av.codec.Codec(codec, "w")
    except Exception:
        pytest.skip(f"this PyAV build has no {codec} encoder")
    n = 3
    src = write_clip(tmp_path / f"in{ext}", codec, pix_fmt, size, options, n)
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(src), "-o", str(out), "-n", "bicubic", "--no-progress"]) == 0
    check_output(out, codec, pix_fmt, size, n)
    api_out = tmp_path / "api.mp4"  # and through the Python API
    assert upscale(src, api_out, UpscaleSettings(model="bicubic")).ok
    check_output(api_out, codec, pix_fmt, size, n)


@pytest.mark.parametrize("pix_fmt", PLANAR_TWIN)
@pytest.mark.parametrize("full", [False, True])
def test_packed_and_semi_planar_frames_convert_like_their_planar_twin(pix_fmt: str, full: bool) -> None:
    """NV12/NV21/NV16/NV24, P010/P016, YUYV/UYVY hold the same samples as a planar frame: same RGB, exactly."""
    rng = FULL if full else LIMITED
    rgb = content(1, 48, 64, pix_fmt)
    planar = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format=PLANAR_TWIN[pix_fmt], dst_colorspace=BT601, dst_color_range=rng)
    other = planar.reformat(format=pix_fmt, src_color_range=rng, dst_color_range=rng)
    for f in (planar, other):
        f.colorspace, f.color_range = BT601, rng
    a, b = frame_to_rgb(planar), frame_to_rgb(other)
    assert np.array_equal(a, b)
    assert np.abs(centre(a.astype(float)) - PATCH).max() <= 2.0  # swscale's RGB -> YCbCr above is 2 levels off


def test_a_format_nothing_can_convert_is_one_line_naming_it() -> None:
    frame = av.VideoFrame(16, 16, "rgbaf32le")  # float RGBA: swscale has no conversion to rgb24
    with pytest.raises(Exception) as e:
        frame_to_rgb(frame)
    assert type(e.value).__name__ == "RealBasicVSRError"
    assert "rgbaf32le" in str(e.value) and "\n" not in str(e.value)
