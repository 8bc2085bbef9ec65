"""Every kind of bad input: one-line error, non-zero exit, nothing written that looks finished."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest
from upscale_media import SMALL_WEIGHTS, decode, frame, write_frames, write_video

from realbasicvsr.cli import main
from realbasicvsr.io import read_image, write_image

BASE = ["--model", str(SMALL_WEIGHTS), "--no-progress"]


def _fails(tmp_path, capsys, inp, *needles, out_name="out.mp4"):
    out = tmp_path / out_name
    before = {p.name for p in tmp_path.iterdir()}
    assert main(["upscale", str(inp), "-o", str(out), *BASE]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for n in needles:
        assert n in err, err
    assert not out.exists()
    assert {p.name for p in tmp_path.iterdir()} == before  # no work folder, no partial file
    return err


def test_missing_file(tmp_path, capsys):
    _fails(tmp_path, capsys, tmp_path / "nope.mp4", "no such file")


def test_not_a_video(tmp_path, capsys):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 50)
    _fails(tmp_path, capsys, p, "not a readable video")


def test_empty_file(tmp_path, capsys):
    p = tmp_path / "empty.mkv"
    p.write_bytes(b"")
    _fails(tmp_path, capsys, p, "empty")


def test_corrupt_bytes(tmp_path, capsys):
    p = tmp_path / "noise.mkv"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    _fails(tmp_path, capsys, p, "noise.mkv")


def test_truncated_mp4_without_index_is_an_error(tmp_path, capsys):
    src = write_video(tmp_path / "full.mp4", 20, audio=False)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])  # the moov index sits at the end: lost
    _fails(tmp_path, capsys, cut, "not a readable video")


def test_truncated_stream_keeps_the_decodable_part(tmp_path, capsys):
    """Policy: a file whose tail is missing or damaged yields its decodable frames, with a warning."""
    src = write_video(tmp_path / "full.ts", 20, audio=False)
    data = bytearray(src.read_bytes())
    cut = tmp_path / "cut.ts"
    cut.write_bytes(bytes(data[: len(data) * 2 // 3]))
    n_decodable = len(decode(cut))
    assert 0 < n_decodable < 20
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(cut), "-o", str(out), *BASE]) == 0
    assert len(decode(out)) == n_decodable


def test_no_video_stream(tmp_path, capsys):
    p = tmp_path / "music.m4a"
    with av.open(str(p), "w") as c:
        a = c.add_stream("aac", rate=48000)
        for i in range(5):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            af.sample_rate, af.pts = 48000, i * 1024
            for pk in a.encode(af):
                c.mux(pk)
        for pk in a.encode(None):
            c.mux(pk)
    _fails(tmp_path, capsys, p, "no video stream")


def test_zero_frames_video(tmp_path, capsys):
    src = write_video(tmp_path / "full.ts", 5, audio=False)
    head = tmp_path / "head.ts"
    head.write_bytes(src.read_bytes()[:564])  # stream headers only, no frame
    _fails(tmp_path, capsys, head, "zero decodable frames")


def test_empty_frame_folder(tmp_path, capsys):
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "readme.txt").write_text("no images here")
    _fails(tmp_path, capsys, tmp_path / "frames", "no videos, images or frame folders")


def test_frame_size_changing_mid_stream(tmp_path, capsys):
    folder = write_frames(tmp_path / "frames", 6)
    write_image(folder / "frame6.png", frame(6, h=40, w=64))
    err = _fails(tmp_path, capsys, folder, "frame 6", "must not change", out_name="out")
    assert "40" in err


def test_corrupt_image_in_folder(tmp_path, capsys):
    folder = write_frames(tmp_path / "frames", 4)
    (folder / "frame2.png").write_bytes(b"\x89PNG broken")
    _fails(tmp_path, capsys, folder, "frame2.png", "not a readable image", out_name="out")


def test_gray_alpha_and_16bit_images_are_converted(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    rgb = frame(0)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    cv2.imwrite(str(folder / "a0.png"), gray)
    cv2.imwrite(str(folder / "a1.png"), np.dstack([rgb[:, :, ::-1], np.full(gray.shape, 128, np.uint8)]))
    cv2.imwrite(str(folder / "a2.png"), rgb[:, :, ::-1].astype(np.uint16) * 257)
    assert np.array_equal(read_image(folder / "a0.png"), np.repeat(gray[:, :, None], 3, axis=2))
    assert np.array_equal(read_image(folder / "a1.png"), rgb)  # alpha dropped
    assert np.array_equal(read_image(folder / "a2.png"), rgb)  # 16 bit -> 8 bit, exact for v*257
    out = tmp_path / "up"
    assert main(["upscale", str(folder), "-o", str(out), *BASE]) == 0
    imgs = [read_image(p) for p in sorted(out.iterdir())]
    assert [i.shape for i in imgs] == [(192, 256, 3)] * 3


@pytest.mark.parametrize("opt", [["--chunk-frames", "0"], ["--outscale", "-1"], ["--precision", "fp16", "--device", "cpu"],
                                 ["--device", "cuda:7"], ["--codec", "no-such-codec"], ["--tile", "8"], ["--pix-fmt", "bogus"]])
def test_bad_options(tmp_path, capsys, opt):
    src = write_video(tmp_path / "in.mp4", 3, audio=False)
    if opt[1] == "cuda:7":
        pytest.importorskip("torch")
        import torch

        if torch.cuda.is_available():
            pytest.skip("a GPU is present")
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(src), "-o", str(out), *BASE, *opt]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_bad_model(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 3, audio=False)
    bad = tmp_path / "model.pth"
    bad.write_bytes(b"garbage")
    assert main(["upscale", str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(bad), "--no-progress"]) == 2
    assert "model.pth" in capsys.readouterr().err


def test_batch_continues_past_failures(tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    write_video(d / "a.mp4", 4, audio=False)
    (d / "broken.mp4").write_text("not a video")
    write_frames(d / "shots", 3)
    write_image(d / "still.png", frame(1))
    out = tmp_path / "out"
    assert main(["upscale", str(d), "-o", str(out), *BASE]) == 1
    err = capsys.readouterr().err
    assert "3 succeeded, 1 failed" in err and "FAILED" in err and "broken.mp4" in err
    assert len(decode(out / "a.mp4")) == 4
    assert len(list((out / "shots").glob("*.png"))) == 3  # a frame folder stays a frame folder
    assert read_image(out / "still.png").shape == (192, 256, 3)
    assert not (out / "broken.mp4").exists()


def test_overwrite_never_replaces_a_folder_with_other_content(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 2, audio=False)
    folder = tmp_path / "mystuff"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    assert main(["upscale", str(src), "-o", str(folder), "--overwrite", *BASE]) == 2
    assert "more than frames" in capsys.readouterr().err
    assert (folder / "notes.txt").read_text() == "keep me"
    # an earlier frame output is replaced on request
    assert main(["upscale", str(src), "-o", str(tmp_path / "frames"), *BASE]) == 0
    assert main(["upscale", str(src), "-o", str(tmp_path / "frames"), "--overwrite", *BASE]) == 0
    assert len(list((tmp_path / "frames").iterdir())) == 2
