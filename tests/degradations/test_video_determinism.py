"""Video compression is a training degradation: the same frames must give bit-identical output, also
while other processes keep every core busy (DataLoader workers, other jobs on a shared machine)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
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


def clip(h: int, w: int, n: int = 10, seed: int = 0) -> list[np.ndarray]:
    """Independent smooth random frames, float32 RGB in [0, 1] (hard work for motion search and rate
    control; coherent motion made even a non-deterministic x264 repeat itself)."""
    rng = np.random.default_rng(seed)
    base = rng.random((n, max(h // 8, 2), max(w // 8, 2), 3)).astype(np.float32)
    return [cv2.resize(b, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1) for b in base]


@contextlib.contextmanager
def busy_cores(n: int) -> Iterator[list[subprocess.Popen]]:
    """``n`` busy-loop processes that spin until killed (or until this process dies: they watch their
    parent, so none outlives a crashed test run); always killed on exit."""
    code = ("import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n"
            "    for _ in range(100_000):\n        pass\n")
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([sys.executable, "-c", code]))
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


@pytest.mark.slow  # about 6 s per codec on 2 cores (the load halves its speed)
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
        assert all(p.poll() is None for p in procs), "a load process died before the runs ended"
    assert mismatches == {size: 0 for size in SIZES}, f"runs (of {RUNS}) differing from the reference"
    for size in SIZES:  # and the codec really changed the frames
        assert refs[size].shape == (10, *size, 3) and not np.array_equal(refs[size], np.stack(clips[size]))


def test_the_simd_cap_reaches_x264(monkeypatch: pytest.MonkeyPatch) -> None:
    """The options of ``x264_options`` are what the encoder runs with: swapping them for x264's C code
    (no SIMD at all, which decides some modes differently) changes the bitstream at 64x64."""
    frames = clip(64, 64, n=15)
    capped = np.stack(ops.video_compress(frames, "libx264", 50_000))
    monkeypatch.setattr(ops, "x264_options", lambda encoder: {"x264-params": "no-asm=1"})
    plain_c = np.stack(ops.video_compress(frames, "libx264", 50_000))
    assert not np.array_equal(capped, plain_c)


def test_x264_is_capped_at_avx2_only_where_avx2_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    for capability, expected in (("AVX512", {"x264-params": "asm=AVX2,Cache64"}),
                                 ("AVX2", {"x264-params": "asm=AVX2,Cache64"}), ("DEFAULT", {})):
        ops.x264_options.cache_clear()
        monkeypatch.setattr(ops.torch.backends.cpu, "get_cpu_capability", lambda c=capability: c)
        assert ops.x264_options("libx264") == expected
        assert ops.x264_options("mpeg4") == {}
    ops.x264_options.cache_clear()
