"""Several ranks under torchrun share a folder of inputs: every output once, no duplicated work."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest
from upscale_media import SMALL_WEIGHTS, decode, write_video

from realbasicvsr.inference import plan_jobs
from realbasicvsr.inference.planning import shard


def test_shards_partition_the_jobs(tmp_path):
    for i in range(5):
        write_video(tmp_path / f"v{i}.mp4", 1, audio=False)
    jobs = plan_jobs([tmp_path], tmp_path / "out")
    parts = [shard(jobs, r, 3) for r in range(3)]
    assert sorted(j for p in parts for j in p) == sorted(jobs)
    assert sum(len(p) for p in parts) == len(jobs) == 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_ranks(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        write_video(src / f"clip{i}.mp4", 3 + i, audio=False)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
           "-m", "realbasicvsr", "upscale", str(src), "-o", str(out), "--model", str(SMALL_WEIGHTS), "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["clip0.mp4", "clip1.mp4", "clip2.mp4"]
    for i in range(3):
        assert len(decode(out / f"clip{i}.mp4")) == 3 + i
    done = re.findall(r"\[rank \d/2\] ok\s+(\S+)", res.stderr, flags=re.M)
    assert sorted(os.path.basename(d) for d in done) == ["clip0.mp4", "clip1.mp4", "clip2.mp4"]  # each once


def _torchrun(args: list[str], nproc: int = 2) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(nproc),
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "realbasicvsr", "upscale", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
                          timeout=300)


@pytest.mark.slow
def test_one_video_is_split_across_two_ranks(tmp_path):
    """Rank 0 takes chunks 0-1 of 5, rank 1 chunks 2-4 (starting with 2 context frames before them instead of
    a carried state); rank 0 joins the segments and the audio. Frames match a single process exactly away
    from the boundary, and closely next to it."""
    import av
    import numpy as np

    n, chunk = 20, 4
    src = write_video(tmp_path / "in.mp4", n, audio=True)
    common = ["-n", str(SMALL_WEIGHTS), "--chunk-frames", str(chunk), "--overlap", "2", "--no-progress",
              "--precision", "fp32", "--codec", "ffv1"]  # lossless and deterministic, unlike x264 here
    res = _torchrun([str(src), "-o", str(tmp_path / "split.mkv"), *common])
    assert res.returncode == 0, res.stderr[-3000:]
    assert "[rank 1/2] upscaled 12 frames" in res.stderr and "wrote" in res.stderr
    assert not (tmp_path / ".split.mkv.realbasicvsr-work").exists()
    single_run(src, tmp_path / "single.mkv", chunk)
    split, single = decode(tmp_path / "split.mkv"), decode(tmp_path / "single.mkv")
    assert len(split) == len(single) == n  # every frame exactly once
    boundary = 2 * chunk  # rank 1's first frame
    for i in range(n):
        if i < boundary:  # rank 0 computed these exactly as one process does
            assert np.array_equal(split[i], single[i]), i
        else:  # rank 1 re-read 2 frames of left context instead of the carried forward state
            assert psnr_u8(split[i], single[i]) > 30.0, i
    assert not all(np.array_equal(split[i], single[i]) for i in range(boundary, n))  # really a fresh start
    with av.open(str(tmp_path / "split.mkv")) as c, av.open(str(tmp_path / "single.mkv")) as d:
        assert len(c.streams.audio) == 1
        pts = [f.pts for f in c.decode(video=0)]
        assert pts == [f.pts for f in d.decode(video=0)]  # timestamps kept


def single_run(src, out, chunk: int) -> None:
    """The same job in this process on one thread, as each rank runs (OMP_NUM_THREADS=1): the reference."""
    import torch

    from realbasicvsr import load_model
    from realbasicvsr.inference import EngineOptions, OutputOptions, Upscaler, upscale_file

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        up = Upscaler(load_model(SMALL_WEIGHTS), EngineOptions(device="cpu", precision="fp32", chunk_frames=chunk,
                                                                overlap=2))
        upscale_file(src, out, up, OutputOptions(codec="ffv1", progress=False))
    finally:
        torch.set_num_threads(threads)


def psnr_u8(a, b) -> float:
    import numpy as np

    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_each_rank_of_a_split_video_resumes_its_own_share(tmp_path):
    """Ranks run here one after the other in this process: rank 1 crashes in its second chunk, resumes from
    its own manifest, then rank 0 does its share and joins; the result equals an uninterrupted split."""
    from dataclasses import replace

    import numpy as np

    from realbasicvsr import load_model
    from realbasicvsr.inference import EngineOptions, OutputOptions, Upscaler, upscale_file

    src = write_video(tmp_path / "in.mp4", 20, audio=False)
    eng = EngineOptions(device="cpu", precision="fp32", chunk_frames=4, overlap=2)
    up = Upscaler(load_model(SMALL_WEIGHTS), eng)
    opts = OutputOptions(codec="ffv1", progress=False)
    calls = []
    window = Upscaler.window

    class Crashing(Upscaler):
        def window(self, *a, **k):
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("simulated crash")
            return window(self, *a, **k)

    out = tmp_path / "resumed.mkv"
    with pytest.raises(RuntimeError, match="simulated"):
        upscale_file(src, out, Crashing(load_model(SMALL_WEIGHTS), eng), opts, part=(1, 2))
    work = tmp_path / ".resumed.mkv.realbasicvsr-work"
    assert (work / "seg_000002.mp4").exists() and not (work / "seg_000003.mp4").exists()
    r1 = upscale_file(src, out, up, replace(opts, resume=True), part=(1, 2))
    assert (r1.resumed_frames, r1.frames) == (4, 12) and not out.exists()
    r0 = upscale_file(src, out, up, opts, part=(0, 2))
    assert r0.frames == 20 and out.exists() and not work.exists()

    ref = tmp_path / "straight.mkv"
    upscale_file(src, ref, up, opts, part=(1, 2))
    upscale_file(src, ref, up, opts, part=(0, 2))
    assert all(np.array_equal(a, b) for a, b in zip(decode(out), decode(ref))) and len(decode(out)) == 20
