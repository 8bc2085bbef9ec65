"""y4m pipes: ``realbasicvsr upscale - -o -`` between real processes, streaming with flat memory; a reader that
closes early, a truncated stream and --resume; the frame-iterator API."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tracemalloc
from fractions import Fraction

import av
import numpy as np
from upscale_media import SMALL_WEIGHTS, frame

from realbasicvsr import load_model
from realbasicvsr.cli import main
from realbasicvsr.inference import EngineOptions, Upscaler
from realbasicvsr.inference.pipe import upscale_frames
from realbasicvsr.io.pipes import PipeSource

CLI = [sys.executable, "-m", "realbasicvsr", "upscale", "-", "-o", "-", "--no-progress"]


def y4m(n: int, h: int = 48, w: int = 64, pix_fmt: str = "yuv420p") -> bytes:
    """A y4m stream of ``n`` moving frames, made by PyAV's (FFmpeg's) muxer."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="yuv4mpegpipe") as c:
        s = c.add_stream("rawvideo", rate=Fraction(30000, 1001))
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        for i in range(n):
            f = av.VideoFrame.from_ndarray(frame(i, h, w), format="rgb24").reformat(format=pix_fmt)
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return buf.getvalue()


def read_y4m(data: bytes) -> tuple[list[np.ndarray], av.VideoStream]:
    with av.open(io.BytesIO(data), "r", format="yuv4mpegpipe") as c:
        rate = c.streams.video[0].average_rate
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)], rate


def _env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1")


def test_pipe_in_pipe_out_gives_every_frame_at_4x():
    """Through a real subprocess with the small model: every frame comes back at 4x, at the input's rate,
    equal to the same frames upscaled through the API up to the RGB -> YCbCr -> RGB rounding (4:4:4 here:
    4:2:0 would also average the small random model's colourful detail)."""
    n = 7
    res = subprocess.run([*CLI, "-n", str(SMALL_WEIGHTS), "--precision", "fp32", "--chunk-frames", "4",
                          "--overlap", "2", "--pix-fmt", "yuv444p"], input=y4m(n, pix_fmt="yuv444p"), capture_output=True, env=_env(),
                         timeout=600)
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    frames, rate = read_y4m(res.stdout)
    assert len(frames) == n and frames[0].shape == (192, 256, 3) and rate == Fraction(30000, 1001)
    assert "wrote standard output (7 frames" in res.stderr.decode() and "scene cuts: none" in res.stderr.decode()
    up = Upscaler(load_model(SMALL_WEIGHTS), EngineOptions(device="cpu", precision="fp32", chunk_frames=4, overlap=2))
    with PipeSource(io.BytesIO(y4m(n, pix_fmt="yuv444p"))) as src:
        expected = list(upscale_frames(up, src))
    for got, want in zip(frames, expected, strict=True):
        diff = np.abs(got.astype(int) - want.astype(int))
        assert diff.mean() < 0.6 and np.percentile(diff, 99.9) <= 4, (diff.mean(), diff.max())


def _peak_traced_mib(n: int, monkeypatch) -> float:
    """Peak memory traced by tracemalloc (Python objects and numpy arrays: every frame) while the CLI pipes
    ``n`` frames of 160x120 through bicubic (output 640x480), in MiB."""
    stdin = io.TextIOWrapper(io.BytesIO(y4m(n, 120, 160)))
    with open(os.devnull, "w") as devnull:
        monkeypatch.setattr(sys, "stdin", stdin)
        monkeypatch.setattr(sys, "stdout", devnull)
        tracemalloc.start()
        try:
            assert main(["upscale", "-", "-o", "-", "--no-progress", "-n", "bicubic"]) == 0
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()


def test_memory_stays_flat_over_a_long_clip(monkeypatch):
    """200 frames hold 176 MiB of 640x480 RGB outputs: a run that kept them would peak that much higher;
    the stream's peak is that of a 40-frame run (one window of frames in flight)."""
    short, long = _peak_traced_mib(40, monkeypatch), _peak_traced_mib(200, monkeypatch)
    assert long - short < 8.0, (short, long)


def test_a_reader_that_closes_early_ends_the_run_with_one_line():
    """`| head -c` style: the reader takes the header and two frames and closes; the run stops with exit
    code 1 and one line on stderr, and what the reader got is whole frames."""
    proc = subprocess.Popen([*CLI, "-n", "bicubic"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    data = y4m(60)
    import threading

    feeder = threading.Thread(target=lambda: _feed(proc.stdin, data), daemon=True)
    feeder.start()
    header = proc.stdout.readline()
    assert header.startswith(b"YUV4MPEG2 W256 H192 F30000:1001 Ip A1:1 C420jpeg")  # 4:2:0 by default
    frame_bytes = len(b"FRAME\n") + 256 * 192 * 3 // 2
    got = proc.stdout.read(2 * frame_bytes)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert err.strip().splitlines() == [err.strip()] and "closed the pipe" in err, err
    frames, _ = read_y4m(header + got)
    assert len(frames) == 2


def test_ctrl_c_ends_the_run_with_one_line_and_whole_frames():
    """SIGINT (Ctrl-C) mid-stream: exit code 130, one line, and every byte written is part of a whole frame.
    The child gets SIGINT's default disposition, as at a terminal, also when the tests run in the background of
    a shell (SIGINT ignored there and inherited: the run then went on to the end and exited 0)."""
    import signal
    import threading

    proc = subprocess.Popen([*CLI, "-n", "bicubic", "--chunk-frames", "2", "--overlap", "0"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    threading.Thread(target=lambda: _feed(proc.stdin, y4m(400)), daemon=True).start()
    header = proc.stdout.readline()
    frame_bytes = len(b"FRAME\n") + 256 * 192 * 3 // 2
    got = proc.stdout.read(frame_bytes)
    proc.send_signal(signal.SIGINT)
    got += proc.stdout.read()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 130
    assert err.strip() == "realbasicvsr upscale: interrupted", err
    assert len(got) % frame_bytes == 0 and len(got) < 400 * frame_bytes
    frames, _ = read_y4m(header + got)
    assert len(frames) == len(got) // frame_bytes >= 1


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, ValueError):
        pass


def test_a_truncated_stream_keeps_the_complete_frames_with_a_warning():
    data = y4m(5)
    cut = data[: len(data) - 1000]  # the last frame is 4608 bytes: it is cut in the middle
    res = subprocess.run([*CLI, "-n", "bicubic"], input=cut, capture_output=True, env=_env(), timeout=300)
    assert res.returncode == 0, res.stderr.decode()
    frames, _ = read_y4m(res.stdout)
    assert len(frames) == 4
    assert "warning: the y4m stream on standard input ends inside frame 4 (truncated); kept the 4 complete frames" in res.stderr.decode()


def test_resume_and_other_misuse_is_refused_in_one_line():
    res = subprocess.run([*CLI, "-n", "bicubic", "--resume"], input=y4m(2), capture_output=True, env=_env(), timeout=300)
    assert res.returncode == 2 and b"--resume can't be used with a pipe" in res.stderr
    assert len(res.stderr.decode().strip().splitlines()) == 1 and res.stdout == b""
    res = subprocess.run([*CLI, "-n", "bicubic"], input=b"not a y4m stream\n", capture_output=True, env=_env(), timeout=300)
    assert res.returncode == 2 and b"standard input is not a y4m stream" in res.stderr
    assert len(res.stderr.decode().strip().splitlines()) == 1


def test_the_api_streams_frames_lazily():
    """``upscale_frames``: a frame iterator in, an upscaled frame iterator out; the first output comes after
    one window (chunk + context + the detector's look-ahead), not after the whole input."""
    up = Upscaler(load_model("bicubic"), EngineOptions(device="cpu", chunk_frames=4, overlap=2))
    taken = []

    def frames():
        for i in range(40):
            taken.append(i)
            yield frame(i)

    out = upscale_frames(up, frames())
    first = next(out)
    assert first.shape == (192, 256, 3) and len(taken) <= 4 + 2 + 2 + 1
    assert 1 + sum(1 for _ in out) == 40
