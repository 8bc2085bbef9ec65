"""`realbasicvsr compare`: a labelled side-by-side PNG of videos/folders at given times."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from upscale_media import frame, write_video

from realbasicvsr import RealBasicVSRError
from realbasicvsr.cli import main
from realbasicvsr.compare import _BAR, _GAP, compare_sheet, parse_time
from realbasicvsr.io import read_image, write_image


def frames_folder(path, n, h=48, w=64, mark=None):
    path.mkdir()
    for i in range(n):
        f = frame(i, h, w)
        if mark is not None:
            f[:, : w // 2] = mark  # the left half differs from the video's
        write_image(path / f"{i:04d}.png", f)
    return path


def test_sheet_geometry_labels_and_where_panels_differ(tmp_path, capsys):
    video = write_video(tmp_path / "a.mp4", 10, rate=Fraction(10), audio=False)
    folder = frames_folder(tmp_path / "b", 10, mark=(255, 0, 0))  # frames at 25 fps
    out = tmp_path / "sheet.png"
    assert main(["compare", str(video), str(folder), "-o", str(out), "--at", "f2", "--at", "f5",
                 "--labels", "video,edited"]) == 0
    assert f"({2 * 64 + _GAP}x{2 * (48 + _BAR) + _GAP})" in capsys.readouterr().out
    sheet = read_image(out)
    assert sheet.shape == (2 * (48 + _BAR) + _GAP, 2 * 64 + _GAP, 3)
    for row, index in ((0, 2), (1, 5)):
        y = row * (48 + _BAR + _GAP) + _BAR
        left, right = sheet[y : y + 48, :64].astype(int), sheet[y : y + 48, 64 + _GAP :].astype(int)
        assert np.abs(right[:, 32:] - frame(index)[:, 32:]).max() == 0  # the folder's frame, exactly
        errors = [np.abs(left[:, 32:] - frame(i)[:, 32:]).mean() for i in range(10)]
        assert int(np.argmin(errors)) == index  # the video's frame of the same index (through H.264)
        assert (right[:, :32] == (255, 0, 0)).all() and np.abs(left[:, :32] - (255, 0, 0)).mean() > 50
    assert sheet[: _BAR - 2, :64].std() > 5  # a label was drawn on the bar


def test_times_pick_the_frame_shown_then(tmp_path):
    video = write_video(tmp_path / "a.mp4", 10, rate=Fraction(10), audio=False)  # frame i at i/10 s
    out = tmp_path / "s.png"
    for at, index in (("0.25s", 2), ("0:00.7", 7), ("f4", 4), ("0", 0)):
        compare_sheet([video, video], out, at=[at], overwrite=True)
        panel = read_image(out)[_BAR : _BAR + 48, :64].astype(int)
        errors = [np.abs(panel - frame(i)).mean() for i in range(10)]
        assert int(np.argmin(errors)) == index, (at, errors)


def test_region_zoom_and_mixed_sizes(tmp_path):
    small = frames_folder(tmp_path / "lq", 1, h=12, w=16)
    big = frames_folder(tmp_path / "hq", 1)  # 48x64: the small one is shown enlarged x4, pixel for pixel
    out = tmp_path / "z.png"
    w, h = compare_sheet([small, big], out, region=(8, 4, 20, 16), zoom=3)
    assert (w, h) == (2 * 60 + _GAP, 48 + _BAR)
    sheet = read_image(out)
    lq_panel = sheet[_BAR:, :60]
    assert (lq_panel[:12, :12] == lq_panel[0, 0]).all()  # one LQ pixel = 4x4 input px x zoom 3 = 12x12


def test_bad_requests_are_one_line_errors(tmp_path, capsys):
    video = write_video(tmp_path / "a.mp4", 5, rate=Fraction(10), audio=False)
    out = tmp_path / "s.png"
    cases = [
        (["compare", str(video), "-o", str(out)], "at least two"),
        (["compare", str(video), str(video), "-o", str(out), "--at", "3s"], "no frame at 3 s"),
        (["compare", str(video), str(video), "-o", str(out), "--at", "f9"], "no frame at frame 9"),
        (["compare", str(video), str(video), "-o", str(out), "--at", "soon"], "--at 'soon'"),
        (["compare", str(video), str(video), "-o", str(tmp_path / "s.jpg")], "PNG"),
        (["compare", str(video), str(video), "-o", str(out), "--region", "60,40,10,10"], "not inside"),
        (["compare", str(video), str(tmp_path / "missing.mp4"), "-o", str(out)], "no such file"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and message in err, (args, err)
        assert not out.exists()
    out.write_bytes(b"mine")
    assert main(["compare", str(video), str(video), "-o", str(out)]) == 2
    assert out.read_bytes() == b"mine"  # never overwritten without --overwrite


@pytest.mark.parametrize("text,expected", [("12.5s", ("s", 12.5)), ("1:02.5", ("s", 62.5)),
                                           ("01:00:02", ("s", 3602.0)), ("f30", ("f", 30.0)), ("30f", ("f", 30.0))])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_parse_time_rejects_nonsense():
    with pytest.raises(RealBasicVSRError):
        parse_time("-3s")


# --- upscale --compare: the comparison video ---------------------------------------------------------


def _decode(path):
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_upscale_compare_geometry_and_labels(tmp_path):
    import cv2
    from upscale_media import SMALL_WEIGHTS

    src = write_video(tmp_path / "in.mp4", 3, audio=False)  # 64x48 -> 256x192
    plain = tmp_path / "plain.mp4"
    assert main(["upscale", str(src), "-o", str(plain), "-n", str(SMALL_WEIGHTS), "--no-progress"]) == 0
    lq, model = _decode(src)[1], _decode(plain)[1].astype(int)
    bicubic = cv2.resize(lq, (256, 192), interpolation=cv2.INTER_CUBIC).astype(int)
    body = slice(40, 192)  # below the labels
    for mode, size in (("side", (2 * 256, 192)), ("stack", (256, 2 * 192)), ("split", (256, 192))):
        out = tmp_path / f"{mode}.mp4"
        assert main(["upscale", str(src), "-o", str(out), "-n", str(SMALL_WEIGHTS), "--compare", mode,
                     "--no-progress"]) == 0
        frames = _decode(out)
        assert len(frames) == 3 and (frames[0].shape[1], frames[0].shape[0]) == size, mode
        f, base, m = frames[1].astype(int), bicubic, model
        if mode == "side":
            left, right = f[body, :256], f[body, 256:]
        elif mode == "stack":
            left, right = f[body, :], f[192:][body, :]
        else:
            left, right = f[body, 8:120], f[body, 136:248]
            base, m = base[:, 8:120], m[:, 136:248]
            assert f[60:, 127:129].mean() > 235  # the white split line
        assert np.abs(left - base[body]).mean() < 4, mode  # the bicubic baseline
        assert np.abs(right - m[body]).mean() < 4, mode  # the model's output
        assert np.abs(bicubic[body] - model[body]).mean() > 4  # (the two differ: the panels are told apart)
        assert (f[2:6, 2:6] < 60).all(), mode  # the dark label box in the top-left corner
        assert f[:20, :60].max() > 200, mode  # with white text in it


def test_upscale_compare_rejects_unknown_modes(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 2, audio=False)
    with pytest.raises(SystemExit):
        main(["upscale", str(src), "-o", str(tmp_path / "o.mp4"), "-n", "bicubic", "--compare", "wipe"])


# --- upscale --preview: excerpts and the projected time ------------------------------------------------


def test_preview_writes_n_excerpts_with_comparisons_and_a_projection(tmp_path, capsys):
    from realbasicvsr.inference.preview import excerpt_starts

    src = write_video(tmp_path / "long.mp4", 40, rate=Fraction(10), audio=False)  # 4 s
    out = tmp_path / "result.mp4"
    assert main(["upscale", str(src), "-o", str(out), "-n", "bicubic", "--preview", "3",
                 "--preview-seconds", "0.5", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "previewed 3 excerpts (15 frames)" in captured.out and "full run of 40 frames would take about" in captured.out
    assert not out.exists()  # only the previews are written
    starts = excerpt_starts(40, 3, 5)
    assert [s for s, _ in starts] == [4, 18, 31] and all(n == 5 for _, n in starts)
    for k, (start, n) in enumerate(starts, 1):
        plain, comp = _decode(tmp_path / f"result.preview{k}.mp4"), _decode(tmp_path / f"result.preview{k}.compare.mp4")
        assert len(plain) == len(comp) == n
        assert plain[0].shape == (192, 256, 3) and comp[0].shape == (192, 512, 3)
        errors = [np.abs(plain[0][::4, ::4].astype(int) - frame(i)).mean() for i in range(40)]
        assert int(np.argmin(errors)) == start, (k, start)  # the excerpt starts where it should
    assert "preview 3/3" in captured.err


def test_preview_of_a_clip_shorter_than_the_excerpts(tmp_path, capsys):
    src = write_video(tmp_path / "short.mp4", 4, rate=Fraction(10), audio=False)
    assert main(["upscale", str(src), "-o", str(tmp_path / "r.mp4"), "-n", "bicubic", "--preview",
                 "--no-progress"]) == 0
    assert "previewed 1 excerpt (4 frames)" in capsys.readouterr().out
