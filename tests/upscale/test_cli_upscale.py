"""End-to-end `realbasicvsr upscale` through the CLI on generated videos, frame folders and images."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import json

import av
import numpy as np
import pytest
import torch
from upscale_media import SMALL_WEIGHTS, decode, frame, packets, write_frames, write_video

from realbasicvsr.cli import main
from realbasicvsr.io import read_image, write_image
from realbasicvsr.models import RealBasicVSRNet

BASE = ["--model", str(SMALL_WEIGHTS), "--no-progress"]


def test_h264_ntsc_rate_with_aac(tmp_path):
    src = write_video(tmp_path / "in.mp4", 12, rate=Fraction(30000, 1001))
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(src), "-o", str(out), "--chunk-frames", "5", "--overlap", "2", *BASE]) == 0
    with av.open(str(src)) as a, av.open(str(out)) as b:
        vi, vo = a.streams.video[0], b.streams.video[0]
        assert (vo.codec_context.width, vo.codec_context.height) == (4 * 64, 4 * 48)
        assert vo.average_rate == Fraction(30000, 1001)
        assert vo.codec_context.name == "h264"
        in_times = [f.time for f in a.decode(vi)]
        out_times = [f.time for f in b.decode(vo)]
    assert len(out_times) == 12
    assert out_times == pytest.approx(in_times, abs=1e-6)
    assert packets(out, "audio") == packets(src, "audio")  # bit-identical audio packets and timestamps
    assert not list(tmp_path.glob(".*"))  # no work folder or temporary file left behind


def test_frame_folder_to_png_frames_natural_order_and_outscale(tmp_path):
    src = write_frames(tmp_path / "frames", 11)
    out = tmp_path / "up"
    assert main(["upscale", str(src), "-o", str(out), "--outscale", "2", "--chunk-frames", "4", *BASE]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{i:08d}.png" for i in range(11)]
    first, last = read_image(out / names[0]), read_image(out / names[-1])
    assert first.shape == (96, 128, 3)
    # natural order: output frame 10 must come from input frame10 (moving content), not frame2
    small = [np.asarray(frame(i)) for i in range(11)]
    down = last[::2, ::2].astype(float)
    errs = [np.abs(down - s).mean() for s in small]
    assert int(np.argmin(errs)) == 10


def test_single_image_to_image(tmp_path):
    img = tmp_path / "photo.jpg"
    write_image(img, frame(3))
    out = tmp_path / "photo_x4.png"
    assert main(["upscale", str(img), "-o", str(out), *BASE]) == 0
    assert read_image(out).shape == (192, 256, 3)


def test_frames_to_video_with_fps(tmp_path):
    src = write_frames(tmp_path / "frames", 6)
    out = tmp_path / "out.mkv"
    assert main(["upscale", str(src), "-o", str(out), "--fps", "24", *BASE]) == 0
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert float(v.average_rate) == pytest.approx(24.0)
        assert len(list(c.decode(v))) == 6


def test_vfr_timestamps_kept(tmp_path):
    tb = Fraction(1, 30000)
    pts = [0, 1001, 2002, 5005, 6006, 9009, 10010, 11011, 16016, 17017]
    src = write_video(tmp_path / "vfr.mp4", len(pts), pts=pts, time_base=tb, audio=False)
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(src), "-o", str(out), "--chunk-frames", "3", "--overlap", "1", *BASE]) == 0
    with av.open(str(out)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert times == pytest.approx([p / 30000 for p in pts], abs=1e-6)


def test_rotation_and_metadata_kept(tmp_path):
    meta = {"title": "Holiday 1987", "comment": "tape 3"}
    src = write_video(tmp_path / "rot.mp4", 4, rotation=90, audio=False, metadata=meta)
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(src), "-o", str(out), *BASE]) == 0
    with av.open(str(out)) as c:
        assert next(c.decode(video=0)).rotation == 90
        assert {k: c.metadata.get(k) for k in meta} == meta


def test_subtitles_copied_into_mkv(tmp_path):
    srt = tmp_path / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,200\nHello\n\n2\n00:00:00,200 --> 00:00:00,300\nWorld\n\n")
    video = write_video(tmp_path / "v.mp4", 10, audio=True)
    muxed = tmp_path / "in.mkv"
    with av.open(str(video)) as v, av.open(str(srt)) as s, av.open(str(muxed), "w") as o:
        maps = {}
        for st in [v.streams.video[0], v.streams.audio[0], s.streams.subtitles[0]]:
            maps[(id(st.container), st.index)] = o.add_stream_from_template(st)
        for c in (v, s):
            for p in c.demux():
                if p.dts is None and p.pts is None:
                    continue
                p.stream = maps[(id(c), p.stream.index)]
                o.mux(p)
    out = tmp_path / "out.mkv"
    assert main(["upscale", str(muxed), "-o", str(out), *BASE]) == 0
    assert [d for _, d in packets(out, "subtitle")] == [d for _, d in packets(muxed, "subtitle")]
    assert packets(out, "audio") == packets(muxed, "audio")


def test_libx265_10bit(tmp_path):
    src = write_video(tmp_path / "in.mp4", 4, audio=False)
    out = tmp_path / "out.mkv"
    rc = main(["upscale", str(src), "-o", str(out), "--codec", "libx265", "--pix-fmt", "yuv420p10le", "--crf", "20", *BASE])
    assert rc == 0
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "hevc"
        assert v.codec_context.pix_fmt == "yuv420p10le"
        assert len(list(c.decode(v))) == 4


def test_dry_run_prints_plan_and_writes_nothing(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 30, audio=False)
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(src), "-o", str(out), "--dry-run", "--chunk-frames", "10", *BASE]) == 0
    text = capsys.readouterr().out
    assert "30 frames 64x48 -> 256x192" in text and "GFLOP" in text and "GiB" in text
    assert not out.exists() and not list(tmp_path.glob(".*"))


def test_dry_run_for_zoo_model_needs_no_download(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "cache"))
    src = write_video(tmp_path / "in.mp4", 3, audio=False)
    assert main(["upscale", str(src), "-o", str(tmp_path / "o.mp4"), "--dry-run", "--no-progress"]) == 0
    assert "mid_channels=64" in capsys.readouterr().out
    assert not (tmp_path / "cache").exists()


def test_existing_output_needs_overwrite_and_input_is_never_overwritten(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 3, audio=False)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    assert main(["upscale", str(src), "-o", str(out), *BASE]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert main(["upscale", str(src), "-o", str(src), "--overwrite", *BASE]) == 2
    assert "input" in capsys.readouterr().err
    assert len(decode(src)) == 3
    assert main(["upscale", str(src), "-o", str(out), "--overwrite", *BASE]) == 0
    assert len(decode(out)) == 3


def test_progress_bar_on_stderr(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 4, audio=False)
    args = ["upscale", str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(SMALL_WEIGHTS)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "4/4" in err and "frame/s" in err


@pytest.mark.slow
def test_bundled_sample_through_python_api(tmp_path):
    """The README's sample clip, through `realbasicvsr.upscale`: its size, frames and audio (bicubic: the network
    on this clip is the README main job's test, tests/test_lite_models.py)."""
    import realbasicvsr
    from realbasicvsr.inference import OutputOptions, UpscaleSettings

    sample = Path(__file__).resolve().parents[2] / "assets" / "sample.mp4"
    out = tmp_path / "sample_x4.mp4"
    settings = UpscaleSettings(model="bicubic", output=OutputOptions(progress=False))
    report = realbasicvsr.upscale(sample, out, settings)
    assert report.ok and report.results[0].frames == 24
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (640, 480)
    assert packets(out, "audio") == packets(sample, "audio")


def test_audio_the_container_cannot_hold_is_reencoded(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 8)  # AAC audio: WebM only takes Opus/Vorbis
    out = tmp_path / "out.webm"
    assert main(["upscale", str(src), "-o", str(out), "--codec", "libvpx-vp9", *BASE]) == 0
    assert "re-encoded it as libopus" in capsys.readouterr().err
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "vp9"
        a = c.streams.audio[0]
        assert a.codec_context.name == "opus"
        decoded = sum(f.samples for f in c.decode(a))
    with av.open(str(src)) as c:
        expected = sum(f.samples for f in c.decode(c.streams.audio[0])) * 48000 / c.streams.audio[0].rate
    assert decoded == pytest.approx(expected, rel=0.05)


@pytest.fixture
def x2_checkpoint(tmp_path) -> Path:
    """A random-weight x2 generator (compact 16-channel head) in the MMagic checkpoint layout."""
    torch.manual_seed(0)
    net = RealBasicVSRNet(8, 1, 1, upscale=2, head_channels=16)
    path = tmp_path / "x2.pth"
    torch.save({"state_dict": {f"generator_ema.{k}": v for k, v in net.state_dict().items()}}, path)
    return path


def test_x2_model_writes_its_own_factor_and_outscale_resizes_from_it(tmp_path, x2_checkpoint, capsys):
    base = ["--model", str(x2_checkpoint), "--no-progress"]
    src = write_frames(tmp_path / "frames", 5)
    assert main(["upscale", str(src), "-o", str(tmp_path / "x2"), "--chunk-frames", "3", "--overlap", "1", *base]) == 0
    outs = sorted((tmp_path / "x2").iterdir())
    assert len(outs) == 5 and all(read_image(p).shape == (96, 128, 3) for p in outs)

    video = write_video(tmp_path / "in.mp4", 4, audio=False)
    assert main(["upscale", str(video), "-o", str(tmp_path / "x3.mp4"), "--outscale", "3", *base]) == 0
    with av.open(str(tmp_path / "x3.mp4")) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (3 * 64, 3 * 48)
        assert len(list(c.decode(v))) == 4

    capsys.readouterr()
    assert main(["upscale", str(video), "-o", str(tmp_path / "plan.mp4"), "--dry-run", *base]) == 0
    text = capsys.readouterr().out
    assert "(x2, mid_channels=8" in text and "4 frames 64x48 -> 128x96" in text


def test_x2_model_through_the_paired_test_protocol(tmp_path, x2_checkpoint, capsys):
    """`realbasicvsr test` with an x2 model scores against GT twice the LQ size."""
    gt = [frame(i, 64, 96) for i in range(3)]
    for name, frames in (("lq", [f[::2, ::2].copy() for f in gt]), ("gt", gt)):
        (tmp_path / "set" / name / "clip").mkdir(parents=True)
        for i, f in enumerate(frames):
            write_image(tmp_path / "set" / name / "clip" / f"{i:08d}.png", f)
    rc = main(["test", "--model", str(x2_checkpoint), "--dataset", str(tmp_path / "set"), "--layout", "paired",
               "--save", str(tmp_path / "sr"), "--json", str(tmp_path / "t.json"), "--quiet"])
    assert rc == 0
    assert read_image(tmp_path / "sr" / "clip" / "00000000.png").shape == (64, 96, 3)
    assert json.loads((tmp_path / "t.json").read_text())["clips"][0]["frames"] == 3
