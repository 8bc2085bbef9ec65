"""Interrupt + resume, and peak memory independent of the clip length (subprocess runs of the CLI)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from upscale_media import SMALL_WEIGHTS, decode, write_video

from realbasicvsr.cli import main

CLI = [sys.executable, "-m", "realbasicvsr", "upscale"]


def _env():
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


@pytest.mark.slow
def test_interrupt_then_resume_equals_uninterrupted(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 30)
    out = tmp_path / "out.mp4"
    args = [str(src), "-o", str(out), "--model", str(SMALL_WEIGHTS), "--chunk-frames", "3", "--overlap", "1"]
    proc = subprocess.Popen(CLI + args + ["--no-progress"], env=_env(), stderr=subprocess.PIPE, text=True)
    manifest = tmp_path / ".out.mp4.realbasicvsr-work" / "manifest.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if len(json.loads(manifest.read_text())["segments"]) >= 2:
                break
        except (OSError, ValueError, KeyError):
            pass
        assert proc.poll() is None, "finished before it could be interrupted"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and "partial" in p.name] == []
    done = len(json.loads(manifest.read_text())["segments"])
    assert 2 <= done < 10

    # without --resume the unfinished job is not silently thrown away
    assert main(["upscale", *args, "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert manifest.exists()

    assert main(["upscale", *args, "--resume", "--no-progress"]) == 0
    assert f"{done * 3} of them from the interrupted run" in capsys.readouterr().err
    assert not manifest.parent.exists()

    ref = tmp_path / "ref.mp4"
    assert main(["upscale", str(src), "-o", str(ref), *args[3:], "--no-progress"]) == 0
    resumed, straight = decode(out), decode(ref)
    assert len(resumed) == len(straight) == 30
    assert all(np.array_equal(a, b) for a, b in zip(resumed, straight))


def test_resume_refuses_other_settings(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 6, audio=False)
    out = tmp_path / "out.mp4"
    work = tmp_path / ".out.mp4.realbasicvsr-work"
    work.mkdir()
    (work / "manifest.json").write_text(json.dumps({"version": 1, "identity": {"input": "other"}, "segments": []}))
    assert main(["upscale", str(src), "-o", str(out), "--model", str(SMALL_WEIGHTS), "--resume", "--no-progress"]) == 2
    assert "differ" in capsys.readouterr().err
    assert not out.exists() and work.exists()


def _peak_rss_mb(args: list[str]) -> float:
    code = (
        "import resource, subprocess, sys\n"
        f"r = subprocess.run({CLI + args!r})\n"
        "assert r.returncode == 0, r.returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, check=True)
    return float(res.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_clip_length(tmp_path):
    rss = {}
    for n in (40, 400):
        src = write_video(tmp_path / f"in{n}.mp4", n, h=32, w=48, audio=True)
        rss[n] = _peak_rss_mb([str(src), "-o", str(tmp_path / f"out{n}.mp4"), "--model", str(SMALL_WEIGHTS),
                               "--chunk-frames", "8", "--overlap", "2", "--no-progress"])
        assert len(decode(tmp_path / f"out{n}.mp4")) == n
    print(f"peak RSS: 40 frames {rss[40]:.0f} MB, 400 frames {rss[400]:.0f} MB")
    assert rss[400] <= rss[40] * 1.15


def test_frame_folder_output_resumes_after_a_crash(tmp_path):
    from dataclasses import replace

    from upscale_media import write_frames

    from realbasicvsr import load_model
    from realbasicvsr.inference import EngineOptions, OutputOptions, Upscaler, upscale_file
    from realbasicvsr.io import read_image

    src = write_frames(tmp_path / "in", 10)
    up = Upscaler(load_model(SMALL_WEIGHTS), EngineOptions(device="cpu"))
    calls = 0

    def crashing(frames):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("simulated crash")
        return up(frames)

    out = tmp_path / "out"
    opts = OutputOptions(chunk_frames=3, overlap=1, progress=False)
    with pytest.raises(RuntimeError, match="simulated"):
        upscale_file(src, out, crashing, opts)
    assert not out.exists()
    work = tmp_path / ".out.realbasicvsr-work"
    (work / "frames" / "00000007.png").write_bytes(b"half-written frame of the crashed chunk")
    res = upscale_file(src, out, up, replace(opts, resume=True))
    assert res.resumed_frames == 6 and res.frames == 10
    ref = upscale_file(src, tmp_path / "ref", up, opts)
    assert ref.frames == 10
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "ref").iterdir()) and len(names) == 10
    assert all(np.array_equal(read_image(out / n), read_image(tmp_path / "ref" / n)) for n in names)
