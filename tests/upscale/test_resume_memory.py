"""Interrupt + resume (a real Ctrl-C at a known chunk), and peak memory independent of the clip length."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from safetensors import safe_open
from upscale_media import SMALL_WEIGHTS, crash_in_window, decode, write_video

from realbasicvsr import load_model
from realbasicvsr.cli import main
from realbasicvsr.inference import EngineOptions, OutputOptions, Upscaler, upscale_file

CLI = [sys.executable, "-m", "realbasicvsr", "upscale"]


def test_interrupt_then_resume_equals_uninterrupted(tmp_path, capsys, monkeypatch):
    src = write_video(tmp_path / "in.mp4", 30)
    out = tmp_path / "out.mp4"
    args = [str(src), "-o", str(out), "--model", str(SMALL_WEIGHTS), "--chunk-frames", "3", "--overlap", "1"]
    manifest = tmp_path / ".out.mp4.realbasicvsr-work" / "manifest.json"
    window, calls = Upscaler.window, []

    def ctrl_c_in_third_window(self, *a, **k):
        # a real SIGINT, as Ctrl-C sends it, at exactly the start of the third chunk
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return window(self, *a, **k)

    # Ctrl-C as at a terminal, also when the tests themselves run with SIGINT ignored (in the background)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with monkeypatch.context() as m:
            m.setattr(Upscaler, "window", ctrl_c_in_third_window)
            assert main(["upscale", *args, "--no-progress"]) == 130
    finally:
        signal.signal(signal.SIGINT, before)
    assert len(calls) == 3
    err = capsys.readouterr().err
    assert "interrupted" in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and "partial" in p.name] == []
    done = len(json.loads(manifest.read_text())["segments"])
    assert done == 2

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


class CrashingUpscaler(Upscaler):
    """An Upscaler that fails in its ``crash_at``-th window, like a crash or kill in the middle of a job."""

    def __init__(self, *args, crash_at: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.crash_at, self.calls = crash_at, 0

    def window(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.crash_at:
            raise RuntimeError("simulated crash")
        return super().window(*args, **kwargs)


def test_resume_refuses_other_settings_and_names_them(tmp_path, capsys, monkeypatch):
    src = write_video(tmp_path / "in.mp4", 9, audio=False)
    out = tmp_path / "out.mp4"
    args = ["upscale", str(src), "-o", str(out), "--model", str(SMALL_WEIGHTS), "--no-progress", "--overlap", "2"]
    with monkeypatch.context() as m:
        m.setattr(Upscaler, "window", crash_in_window(2))
        with pytest.raises(RuntimeError, match="simulated"):
            main([*args, "--chunk-frames", "3"])
    work = tmp_path / ".out.mp4.realbasicvsr-work"
    before = sorted(p.name for p in work.iterdir())
    assert "state_000000.safetensors" in before
    args.append("--resume")
    assert main([*args, "--chunk-frames", "4"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume: engine.chunk_frames: 3 then, 4 now" in err and len(err.strip().splitlines()) == 1
    assert main([*args, "--chunk-frames", "3", "--crf", "20"]) == 2
    assert "encoder.crf: 18 then, 20 now" in capsys.readouterr().err
    assert not out.exists() and sorted(p.name for p in work.iterdir()) == before
    (work / "manifest.json").write_text(json.dumps({"version": 1, "identity": {"input": "other"}, "segments": []}))
    assert main([*args, "--chunk-frames", "3"]) == 2
    assert "another version" in capsys.readouterr().err


def _has_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "mallinfo2")
    except (OSError, TypeError):  # no C library loadable by name (Windows)
        return False


def _growth_mb(short, long, out_dir) -> tuple[float, float]:
    """How much more memory one process holds at the end of ``long`` than at the end of ``short``, both
    upscaled after a warm-up run of ``short``, as (numpy and Python objects, the whole heap).

    The first is what Python's ``tracemalloc`` traces: numpy's arrays (frames, in and out) and every Python
    object, from the warm-up on; it moves by under 1 MB from chunk to chunk. The second is the heap in use
    (glibc's ``mallinfo2``: numpy, torch and FFmpeg all allocate there), which also sees torch tensors but
    moves by about 4 MB from one chunk end to another (a codec buffer held or not) and has stepped up by
    up to 9 MB once in a process. Each clip's reading is the least over its last 3 chunk ends, so a buffer
    held for a moment does not count, while frames kept from earlier chunks do."""
    code = (
        "import ctypes, tracemalloc\n"
        "from realbasicvsr import load_model\n"
        "from realbasicvsr.inference import EngineOptions, OutputOptions, Upscaler, upscale_file\n"
        "class MallInfo2(ctypes.Structure):\n"
        "    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd',\n"
        "                                               'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.mallinfo2.restype = MallInfo2\n"
        "def heap_mb():\n"
        "    m = libc.mallinfo2()\n"
        "    return (m.uordblks + m.hblkhd) / 2**20  # allocated chunks, in the arenas and mapped on their own\n"
        f"up = Upscaler(load_model({str(SMALL_WEIGHTS)!r}), EngineOptions(device='cpu', chunk_frames=8, overlap=2))\n"
        "def held_at_end(clip, out):\n"
        "    held = []\n"
        "    at_chunk_end = lambda done, total: held.append((tracemalloc.get_traced_memory()[0] / 2**20, heap_mb()))\n"
        "    upscale_file(clip, out, up, OutputOptions(progress=False, on_progress=at_chunk_end))\n"
        "    return [min(r[k] for r in held[-3:]) for k in (0, 1)]\n"
        f"held_at_end({str(short)!r}, {str(out_dir / 'warm_x4.mp4')!r})\n"
        "tracemalloc.start()\n"
        f"first = held_at_end({str(short)!r}, {str(out_dir / 'short_x4.mp4')!r})\n"
        f"last = held_at_end({str(long)!r}, {str(out_dir / 'long_x4.mp4')!r})\n"
        "print(*first, *last)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    traced0, heap0, traced1, heap1 = map(float, res.stdout.split())
    print(f"at the end of the short clip: {traced0:.2f} MB traced, {heap0:.1f} MB heap; at the end of the long "
          f"one: {traced1 - traced0:+.2f} and {heap1 - heap0:+.1f} MB")
    return traced1 - traced0, heap1 - heap0


@pytest.mark.slow
@pytest.mark.skipif(not _has_mallinfo2(), reason="measures the heap with glibc 2.33+'s mallinfo2")
def test_peak_memory_does_not_grow_with_clip_length(tmp_path):
    """40 frames, then 200: keeping every upscaled frame would add 160 x 96x128x3 bytes = 5.9 MB of numpy
    arrays (bound 2.5 MB; measured with them kept: +7.2 MB, without: +0.09 MB, idle and with both cores
    busy); keeping the model's float outputs, 4 times that in torch tensors (bound 12 MB on the heap;
    measured with them kept: +27.5 MB, without: +0.2 to +0.4 MB)."""
    short = write_video(tmp_path / "short.mp4", 40, h=24, w=32, audio=True)
    long = write_video(tmp_path / "long.mp4", 200, h=24, w=32, audio=True)
    traced, heap = _growth_mb(short, long, tmp_path)
    assert traced <= 2.5 and heap <= 12.0, (traced, heap)
    assert len(decode(tmp_path / "long_x4.mp4")) == 200


def test_frame_folder_output_resumes_after_a_crash(tmp_path):
    from dataclasses import replace

    from upscale_media import write_frames

    from realbasicvsr.io import read_image

    src = write_frames(tmp_path / "in", 10)
    eng = EngineOptions(device="cpu", chunk_frames=3, overlap=2)
    up = Upscaler(load_model(SMALL_WEIGHTS), eng)
    crashing = CrashingUpscaler(load_model(SMALL_WEIGHTS), eng, crash_at=3)
    out = tmp_path / "out"
    opts = OutputOptions(progress=False)
    with pytest.raises(RuntimeError, match="simulated"):
        upscale_file(src, out, crashing, opts)
    assert not out.exists()
    work = tmp_path / ".out.realbasicvsr-work"
    (work / "frames" / "00000007.png").write_bytes(b"half-written frame of the crashed chunk")
    # the saved state holds the cleaned right context of the last finished window and its flows, too
    with safe_open(str(work / "state_000001.safetensors"), framework="pt") as f:
        assert {k.split(".", 1)[1] for k in f.keys()} == {"feat", "lr", "ahead", "ahead_flows", "ahead_raw", "ahead_residue"}
    cleaned = []
    hook = up.model.image_cleaning.register_forward_pre_hook(lambda m, a: cleaned.append(len(a[0])))
    res = upscale_file(src, out, up, replace(opts, resume=True))
    hook.remove()
    assert res.resumed_frames == 6 and res.frames == 10
    # windows [0,5) [3,8) cleaned frames 0-7 before the crash; the resumed run cleans only frames 8 and 9
    assert sum(cleaned) == 2
    ref = upscale_file(src, tmp_path / "ref", up, opts)
    assert ref.frames == 10
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "ref").iterdir()) and len(names) == 10
    assert all(np.array_equal(read_image(out / n), read_image(tmp_path / "ref" / n)) for n in names)
