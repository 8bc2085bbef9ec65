"""Video compression is a training degradation: the same frames must give bit-identical output, also
while other processes keep every core busy (DataLoader workers, other jobs on a shared machine)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from typing import Iterator

import cv2
import numpy as np
import pytest

from realbasicvsr.degradations import ops

# (H, W): odd sizes take the pad-and-crop path; 64x64 is the smallest size tried where x264 with frame
# threads and non-deterministic=1 (not used here) measurably varies between runs under load.
SIZES = [(18, 22), (22, 18), (32, 32), (64, 64)]
BITRATES = {(18, 22): 31_551, (22, 18): 10_000, (32, 32): 31_551, (64, 64): 54_935}
RUNS = 25
BUSY_SECONDS = 120  # upper bound on the load's life even if the test process dies


def clip(h: int, w: int, n: int = 10, seed: int = 0) -> list[np.ndarray]:
    """Independent smooth random frames, float32 RGB in [0, 1] (hard work for motion search and rate
    control; coherent motion made even a non-deterministic x264 repeat itself)."""
    rng = np.random.default_rng(seed)
    base = rng.random((n, max(h // 8, 2), max(w // 8, 2), 3)).astype(np.float32)
    return [cv2.resize(b, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1) for b in base]


@contextlib.contextmanager
def busy_cores(n: int) -> Iterator[list[subprocess.Popen]]:
    """``n`` busy-loop processes (each ends by itself after BUSY_SECONDS); always killed on exit."""
    code = f"import time\nend = time.monotonic() + {BUSY_SECONDS}\nwhile time.monotonic() < end:\n    pass\n"
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([sys.executable, "-c", code]))
        time.sleep(0.2)  # let them start spinning
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


@pytest.mark.slow  # about 6 s per codec on 2 cores (the load halves its speed)
# Known bug: PyAV 18's libx264 (18.0 and 18.1) encodes the same small clips differently now and then, even on
# one thread (measured 2026-12-02: up to 3 of 25 runs per size at 18x22..32x32 under load, 2 of 24 idle calls
# at 20x20); cause not found yet (README, Training). Kept running so a fix shows up as XPASS.
@pytest.mark.xfail(reason="libx264 in PyAV 18 is occasionally non-deterministic on small frames", strict=False)
@pytest.mark.parametrize("codec", ["libx264", "h264"])
def test_video_compress_is_bit_exact_while_the_cores_are_busy(codec: str) -> None:
    clips = {size: clip(*size) for size in SIZES}
    # references from an idle machine (as far as this test is concerned)
    refs = {size: np.stack(ops.video_compress(clips[size], codec, BITRATES[size])) for size in SIZES}
    mismatches: dict[tuple[int, int], int] = {size: 0 for size in SIZES}
    with busy_cores(min(max(os.cpu_count() or 2, 2), 4)) as procs:
        for _ in range(RUNS):
            for size in SIZES:
                out = np.stack(ops.video_compress(clips[size], codec, BITRATES[size]))
                mismatches[size] += not np.array_equal(out, refs[size])
        assert all(p.poll() is None for p in procs), "the load ended before the runs did"
    assert mismatches == {size: 0 for size in SIZES}, f"runs (of {RUNS}) differing from the reference"
    for size in SIZES:  # and the codec really changed the frames
        assert refs[size].shape == (10, *size, 3) and not np.array_equal(refs[size], np.stack(clips[size]))
