"""True colours through `upscale`: inputs in each common matrix/range come out tagged, and decoded the
way players decode them (by the output's tags; untagged HD as BT.709) they show the input's colours.

The test writes its inputs and reads its outputs with its own textbook YCbCr formulas (ITU-R BT.601/709/2020),
independent of the package's conversion code."""

from __future__ import annotations

import av
import numpy as np
import pytest

from realbasicvsr.cli import main
from realbasicvsr.io import read_image
from realbasicvsr.io.colour import Colour, planes_to_rgb, rgb_to_frame

PATCH = (200, 80, 40)  # the example: a warm orange that shifts visibly under the wrong matrix
KR_KB = {1: (0.2126, 0.0722), 5: (0.299, 0.114), 6: (0.299, 0.114), 9: (0.2627, 0.0593)}  # by AVColorSpace


def ycbcr(rgb, kr, kb, full, bits=8):
    r, g, b = (np.float64(c) / 255 for c in rgb)
    y = kr * r + (1 - kr - kb) * g + kb * b
    cb, cr = (b - y) / (2 * (1 - kb)), (r - y) / (2 * (1 - kr))
    one = 2 ** (bits - 8)
    if full:
        top = 2**bits - 1
        return y * top, 2 ** (bits - 1) + cb * top, 2 ** (bits - 1) + cr * top
    return 16 * one + 219 * one * y, 2 ** (bits - 1) + 224 * one * cb, 2 ** (bits - 1) + 224 * one * cr


def rgb_of(y, cb, cr, kr, kb, full, bits=8):
    one = 2 ** (bits - 8)
    mid = 2 ** (bits - 1)
    if full:
        top = 2**bits - 1
        y, cb, cr = y / top, (cb - mid) / top, (cr - mid) / top
    else:
        y, cb, cr = (y - 16 * one) / (219 * one), (cb - mid) / (224 * one), (cr - mid) / (224 * one)
    r, b = y + 2 * (1 - kr) * cr, y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.array([r, g, b]) * 255


def write_patch(path, *, colorspace, color_range, pix_fmt="yuv420p", size=(320, 180), frames=4, tag=True):
    """A flat PATCH video: planes from the textbook formulas, tagged (or not) as told."""
    w, h = size
    kr, kb = KR_KB[colorspace]
    full = color_range == 2 or pix_fmt.startswith("yuvj")
    bits = 10 if "10" in pix_fmt else 8
    y, cb, cr = (round(v) for v in ycbcr(PATCH, kr, kb, full, bits))
    dtype = np.uint16 if bits > 8 else np.uint8
    planes = np.concatenate([np.full((h, w), y), np.full((h // 4, w), cb), np.full((h // 4, w), cr)]).astype(dtype)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        s.options = {"crf": "10"}
        if tag:
            cc = s.codec_context
            cc.colorspace, cc.color_range = colorspace, color_range
            cc.color_primaries = {1: 1, 5: 5, 6: 6, 9: 9}[colorspace]
            cc.color_trc = {1: 1, 5: 6, 6: 6, 9: 14}[colorspace]
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(planes, format=pix_fmt)
            if tag:
                f.colorspace, f.color_range = colorspace, color_range
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def decode_like_a_player(path):
    """(mean RGB of the central region, stream tags, pix_fmt, size): matrix and range from the tags;
    unspecified matrix -> BT.709 for HD, BT.601 otherwise; unspecified range -> limited."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        cc = s.codec_context
        tags = (int(cc.colorspace), int(cc.color_range), int(cc.color_primaries), int(cc.color_trc))
        frame = next(c.decode(s))
        w, h, fmt = frame.width, frame.height, frame.format.name
        arr = frame.to_ndarray().astype(np.float64)
    bits = 10 if "10" in fmt else 8
    y, rest = arr[:h], arr[h:].reshape(-1)
    q = (h // 2) * (w // 2)
    cb, cr = rest[:q].reshape(h // 2, w // 2), rest[q : 2 * q].reshape(h // 2, w // 2)
    sl = lambda a: a[a.shape[0] // 4 : -a.shape[0] // 4, a.shape[1] // 4 : -a.shape[1] // 4].mean()  # noqa: E731
    matrix = tags[0] if tags[0] in KR_KB else (1 if w >= 1280 or h > 576 else 6)
    full = tags[1] == 2 or fmt.startswith("yuvj")
    return rgb_of(sl(y), sl(cb), sl(cr), *KR_KB[matrix], full, bits), tags, fmt, (w, h)


CASES = {
    "bt709-limited": dict(colorspace=1, color_range=1),
    "bt601-full-yuvj420p": dict(colorspace=5, color_range=2, pix_fmt="yuvj420p"),
    "untagged-sd": dict(colorspace=6, color_range=1, tag=False),  # players assume BT.601 below HD
    "bt2020-limited": dict(colorspace=9, color_range=1),
}


@pytest.mark.parametrize("case", CASES)
def test_upscaled_colours_match_the_input_when_decoded_by_the_tags(tmp_path, case):
    src = write_patch(tmp_path / "in.mp4", **CASES[case])
    before, *_ = decode_like_a_player(src)
    assert np.abs(before - PATCH).max() < 1.5  # the test's own encode/decode is sound
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(src), "-o", str(out), "--model", "bicubic", "--no-progress"]) == 0
    after, tags, fmt, size = decode_like_a_player(out)
    assert size == (1280, 720) and fmt == "yuv420p"
    assert np.abs(after - PATCH).max() <= 1.5, (after, tags)
    # tagged so players need not guess: BT.709 (or the input's BT.2020) matrix, limited range
    assert tags[0] == (9 if case == "bt2020-limited" else 1) and tags[1] == 1
    assert tags[2] not in (0, 2) and tags[3] not in (0, 2)


def test_the_old_untagged_bt601_encode_would_have_shifted_the_colour(tmp_path):
    """What the tests above guard against: BT.601 data in an untagged HD file, decoded as players do."""
    src = write_patch(tmp_path / "hd.mp4", colorspace=6, color_range=1, size=(1280, 720), frames=1, tag=False)
    shown, *_ = decode_like_a_player(src)
    assert np.abs(shown - PATCH).max() > 5  # ~ (210, 90, 36) instead of (200, 80, 40)


def test_ten_bit_input_gives_a_ten_bit_output_by_default(tmp_path):
    src = write_patch(tmp_path / "in10.mp4", colorspace=1, color_range=1, pix_fmt="yuv420p10le", frames=2)
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(src), "-o", str(out), "--model", "bicubic", "--no-progress"]) == 0
    after, tags, fmt, size = decode_like_a_player(out)
    assert fmt == "yuv420p10le" and size == (1280, 720)
    assert np.abs(after - PATCH).max() <= 1.5
    out8 = tmp_path / "out8.mp4"
    assert main(["upscale", str(src), "-o", str(out8), "-n", "bicubic", "--pix-fmt", "yuv420p", "--no-progress"]) == 0
    assert decode_like_a_player(out8)[2] == "yuv420p"


def test_png_frames_are_the_inputs_rgb(tmp_path):
    """Frame-folder outputs are plain sRGB PNGs holding the colours the video showed."""
    src = write_patch(tmp_path / "in.mp4", colorspace=1, color_range=1, frames=2)
    out = tmp_path / "frames"
    assert main(["upscale", str(src), "-o", str(out), "-n", "bicubic", "--no-progress"]) == 0
    png = read_image(sorted(out.iterdir())[0])
    assert png.shape == (720, 1280, 3)
    assert np.abs(png[200:500, 300:900].reshape(-1, 3).mean(0) - PATCH).max() <= 1.0


@pytest.mark.parametrize("matrix", ["bt601", "bt709", "bt2020"])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("pix_fmt", ["yuv444p", "yuv420p", "yuv420p10le"])
def test_conversion_round_trips_within_quantisation(matrix, full, pix_fmt):
    """4:4:4: random pixels; 4:2:0: flat frames of random colours (chroma is shared by 2x2 blocks)."""
    rng = np.random.default_rng(0)
    colour = Colour(matrix, full)
    if pix_fmt == "yuv444p":
        images = [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)]
    else:
        images = [np.broadcast_to(c, (8, 8, 3)).copy() for c in rng.integers(0, 256, (32, 3), dtype=np.uint8)]
    # 8-bit YCbCr can't hold every 8-bit RGB (blue = Y + 1.86 Cb amplifies the chroma step): up to 2 levels
    # on random colours, as in any correct converter; 10 bits keep 8-bit RGB exactly.
    tol = 0 if "10" in pix_fmt else 2
    for rgb in images:
        frame = rgb_to_frame(rgb, colour, pix_fmt)
        back = planes_to_rgb(frame, colour)
        assert np.abs(back.astype(int) - rgb).max() <= tol, rgb[0, 0]


def test_untagged_defaults_follow_players():
    assert Colour.of_frame(av.VideoFrame(1280, 720, "yuv420p")).matrix == "bt709"
    assert Colour.of_frame(av.VideoFrame(640, 480, "yuv420p")).matrix == "bt601"
    assert Colour.of_frame(av.VideoFrame(640, 480, "yuvj420p")).full_range
    assert not Colour.of_frame(av.VideoFrame(640, 480, "yuv420p")).full_range
    assert Colour.of_frame(av.VideoFrame(64, 48, "yuv420p10le")).bits == 10


def test_x2_output_of_an_odd_height_input_has_odd_half_height_chroma(tmp_path):
    """17x31 in, 34x62 out at x2: the 4:2:0 chroma planes are 17 rows of 31, which the stacked-array
    layout of ``VideoFrame.from_ndarray`` cannot hold (it crashed the write with a raw traceback)."""
    src = tmp_path / "odd.mkv"
    kr, kb = KR_KB[6]
    with av.open(str(src), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 31, 17, "yuv444p"
        planes = np.stack([np.full((17, 31), round(v), np.uint8) for v in ycbcr(PATCH, kr, kb, False)])
        for i in range(2):
            f = av.VideoFrame.from_ndarray(planes, format="yuv444p")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    out = tmp_path / "odd_x2.mp4"
    assert main(["upscale", str(src), "-o", str(out), "--model", "realbasicvsr_lite_x2", "--device", "cpu"]) == 0
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 2 and (frames[0].width, frames[0].height, frames[0].format.name) == (62, 34, "yuv420p")
    y, cb, cr = (np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width] for p in frames[1].planes)
    assert cb.shape == (17, 31)
    centre = rgb_of(y[8:-8, 16:-16].mean(), cb[4:-4, 8:-8].mean(), cr[4:-4, 8:-8].mean(), kr, kb, False)
    assert np.abs(centre - PATCH).max() <= 6, centre  # a flat patch stays its colour (model's own bias aside)
