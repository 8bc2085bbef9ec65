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
from realbasicvsr.inference.batch import shard


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
