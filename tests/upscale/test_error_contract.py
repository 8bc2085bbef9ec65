"""The error contract across commands: truncated inputs, permissions, bad frames in the Python API, I/O and
memory failures, image outputs for videos. Each failure is one line and a non-zero exit; nothing a user
had is lost and nothing half-written looks done."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from upscale_media import SMALL_WEIGHTS, decode, frame, write_frames, write_video

from realbasicvsr import load_model
from realbasicvsr.cli import main
from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.inference import EngineOptions, Upscaler
from realbasicvsr.io import read_image

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample.mp4"


@pytest.fixture()
def truncated_mkv(tmp_path) -> tuple[Path, int]:
    """A 20-frame mkv cut at two thirds: its header still promises 20 frames; returns (path, decodable)."""
    full = write_video(tmp_path / "full.mkv", 20, h=112, w=128, audio=False)
    data = full.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 2 // 3])
    n = len(decode(cut))
    assert 0 < n < 20
    return cut, n


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if not line.startswith("warning:")]
    assert len(lines) <= 1, err
    return lines[0] if lines else ""


# ----------------------------------------------------------------------------------------- truncated input


def test_degrade_keeps_the_decodable_part_of_a_truncated_video_and_says_how_much(tmp_path, truncated_mkv, capsys):
    cut, n = truncated_mkv
    out = tmp_path / "lq"
    assert main(["degrade", str(cut), "-o", str(out), "--seed", "1", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {cut}: the header promises 20 frames" in err and f"kept the {n} decodable frames" in err
    assert len(list(out.iterdir())) == n


def test_evaluate_refuses_a_truncated_video_unless_allowed(tmp_path, truncated_mkv, capsys):
    cut, n = truncated_mkv
    assert main(["evaluate", str(cut), "--metrics", "niqe", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"only {n} frames could be read (pass --allow-partial to use them)" in _one_line(err)
    assert main(["evaluate", str(cut), "--metrics", "niqe", "--quiet", "--allow-partial"]) == 0
    captured = capsys.readouterr()
    assert f"kept the {n} decodable frames" in captured.err
    assert f"| cut | {n} |" in captured.out  # the table says how many frames were scored


def test_upscale_warns_with_the_count(tmp_path, truncated_mkv, capsys):
    cut, n = truncated_mkv
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(cut), "-o", str(out), "-n", "bicubic", "--no-progress"]) == 0
    assert f"kept the {n} decodable frames" in capsys.readouterr().err
    assert len(decode(out)) == n


# ------------------------------------------------------------------------------------------- permissions


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_get_the_umask_permissions(tmp_path, umask):
    src = write_video(tmp_path / "in.mp4", 4, audio=False)
    old = os.umask(umask)
    try:
        assert main(["degrade", str(src), "-o", str(tmp_path / "lq"), "--seed", "0", "--quiet",
                     "--params-json", str(tmp_path / "params.json")]) == 0
        assert main(["degrade", str(src), "-o", str(tmp_path / "lq.mp4"), "--seed", "0", "--quiet"]) == 0
        assert main(["upscale", str(src), "-o", str(tmp_path / "up"), "-n", "bicubic", "--no-progress"]) == 0
        assert main(["upscale", str(src), "-o", str(tmp_path / "up.mp4"), "-n", "bicubic", "--no-progress"]) == 0
    finally:
        os.umask(old)
    for folder in ("lq", "up"):
        assert _mode(tmp_path / folder) == 0o777 & ~umask
        assert {_mode(p) for p in (tmp_path / folder).iterdir()} == {0o666 & ~umask}
    for f in ("lq.mp4", "up.mp4", "params.json"):
        assert _mode(tmp_path / f) == 0o666 & ~umask, f


# ---------------------------------------------------------------------------------- bad frames in the API


@pytest.fixture(scope="module")
def upscaler():
    return Upscaler(load_model(SMALL_WEIGHTS), EngineOptions(device="cpu"))


@pytest.mark.parametrize("frames, needle", [
    ([], "no frames to upscale"),
    ([np.zeros((8, 8, 3), np.float32)], "float32, not uint8"),
    ([np.zeros((8, 8, 4), np.uint8)], "shape (8, 8, 4)"),
    ([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)], "frame 1 is 10x8, unlike frame 0 (8x8)"),
    (["not a frame"], "frame 0 is a str"),
])
def test_bad_frames_are_one_line_errors(upscaler, frames, needle):
    with pytest.raises(RealBasicVSRError) as e:
        upscaler(frames)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_grayscale_frames_are_upscaled_as_gray_rgb(upscaler):
    gray = frame(0)[:, :, 1].copy()
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    expected = upscaler([rgb])
    assert np.array_equal(upscaler([gray])[0], expected[0])
    assert np.array_equal(upscaler([gray[:, :, None]])[0], expected[0])


# -------------------------------------------------------------------------------- I/O and memory failures


def _run_limited(args: list[str], limit: str, value: int) -> subprocess.CompletedProcess:
    """The CLI in a child process whose files (FSIZE: a full disk) or address space (AS) are capped."""
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"  # an over-long write fails with EFBIG instead
        "import torch, realbasicvsr.cli, realbasicvsr.inference\n"
        f"resource.setrlimit(resource.RLIMIT_{limit}, ({value}, {value}))\n"
        f"sys.exit(realbasicvsr.cli.main({args!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_a_full_disk_in_the_work_folder_is_one_line_and_resumable(tmp_path):
    ref = tmp_path / "ref.mp4"
    args = [str(SAMPLE), "-n", "bicubic", "--no-progress", "--chunk-frames", "8"]
    assert main(["upscale", *args, "-o", str(ref)]) == 0
    size = ref.stat().st_size  # three segments of 8 frames, then the muxed output with audio

    out = tmp_path / "out.mp4"
    r = _run_limited(["upscale", *args, "-o", str(out)], "FSIZE", 2000)  # not even one segment fits
    assert r.returncode == 2
    assert "cannot write to the work folder" in _one_line(r.stderr) and "File too large" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.mp4"]  # nothing left behind

    r = _run_limited(["upscale", *args, "-o", str(out)], "FSIZE", int(size * 0.6))  # segments fit, output not
    assert r.returncode == 2
    assert "finished chunks are kept: rerun with --resume" in _one_line(r.stderr)
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    assert main(["upscale", *args, "-o", str(out), "--resume"]) == 0
    assert len(decode(out)) == 24


def test_cpu_out_of_memory_is_one_line(tmp_path):
    big = tmp_path / "big.png"
    from realbasicvsr.io import write_image

    write_image(big, (np.random.default_rng(0).random((1400, 1400, 3)) * 255).astype(np.uint8))
    # the child's address space: what torch and the model need to start, plus 600 MB; one 64-channel map of
    # this frame is 500 MB, and the x4 output another 94 MB
    r = _run_limited(["upscale", str(big), "-o", str(tmp_path / "big_x4.png"), "-n", str(SMALL_WEIGHTS),
                      "--no-progress", "--no-tile", "--device", "cpu"], "AS", (1200 + 600) << 20)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "out of memory upscaling 1 frames of 1400x1400" in _one_line(r.stderr)
    assert "--tile" in r.stderr
    assert not (tmp_path / "big_x4.png").exists()


def test_a_batch_keeps_going_after_any_failure(tmp_path, capsys, monkeypatch):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_video(inputs / "a.mp4", 3, audio=False)
    write_video(inputs / "b.mp4", 3, audio=False)
    from realbasicvsr.inference import engine

    window = engine.Upscaler.window

    calls = []

    def fail_the_first_input(self, *a, **k):  # an error no layer turned into a message of its own
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return window(self, *a, **k)

    monkeypatch.setattr(engine.Upscaler, "window", fail_the_first_input)
    assert main(["upscale", str(inputs), "-o", str(tmp_path / "out"), "-n", "bicubic", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "OSError: [Errno 28] No space left on device" in err and "1 succeeded, 1 failed" in err


# ------------------------------------------------------------------------------------ image output for video


@pytest.mark.parametrize("make", ["video", "frames"])
def test_an_image_output_for_several_frames_is_an_error(tmp_path, capsys, make):
    src = write_video(tmp_path / "in.mp4", 5, audio=False) if make == "video" else write_frames(tmp_path / "in", 5)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["upscale", str(src), "-o", str(tmp_path / "clip.png"), "-n", "bicubic", "--no-progress"]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "clip.png is an image path" in err and "clip.mp4" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_an_image_input_still_writes_an_image(tmp_path):
    from realbasicvsr.io import write_image

    write_image(tmp_path / "in.png", frame(0))
    assert main(["upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "-n", "bicubic",
                 "--no-progress"]) == 0
    assert read_image(tmp_path / "out.png").shape == (192, 256, 3)


def test_settings_that_multiply_the_cost_are_warned_about(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 30, audio=False)
    args = ["upscale", str(src), "-o", str(tmp_path / "out.mp4"), "-n", "realbasicvsr_lite_x4", "--no-progress"]
    assert main([*args, "--dry-run", "--chunk-frames", "2", "--overlap", "30"]) == 0
    out = capsys.readouterr().out
    factor = float(out.split("costs ")[1].split("x the compute")[0])
    # 28 context frames propagated backward for every 2 written ones (cleaned and flowed once, carried):
    # 3.4x counted for this model (7.8x if the context's cleaning and flows were recomputed too)
    assert 3.2 < factor < 3.6
    assert main([*args, "--dry-run"]) == 0  # the defaults cost about what the whole clip at once does
    assert "warning" not in capsys.readouterr().out


def test_an_encoder_that_refuses_the_frames_is_one_line(tmp_path, capsys):
    out = tmp_path / "x.mkv"
    assert main(["upscale", str(SAMPLE), "-o", str(out), "-n", "bicubic", "--codec", "libx264rgb",
                 "--no-progress"]) == 2
    assert "encoding with libx264rgb failed" in _one_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
