"""``--dry-run``'s time estimate comes from measuring this machine, and lands near the real run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from upscale_media import write_video

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample.mp4"
CLI = [sys.executable, "-m", "realbasicvsr", "upscale"]


def _cli(args: list[str]) -> str:
    """stdout + stderr of the command in a fresh process, as a user runs it."""
    r = subprocess.run(CLI + args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout + r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["sample 160x120", "320x180"])
def test_dry_run_estimate_is_within_30_percent_of_the_run(tmp_path, clip):
    src = SAMPLE if clip.startswith("sample") else write_video(tmp_path / "in.mp4", 24, h=180, w=320)
    args = [str(src), "-o", str(tmp_path / "out.mp4"), "-n", "realbasicvsr_lite_x4", "--no-progress", "--overwrite"]
    ratios = []
    for _ in range(3):  # more tries when the machine's load changed between the estimate and the run
        estimate = float(re.search(r"total: 1 job\(s\), ~([\d.]+) s", _cli([*args, "--dry-run"])).group(1))
        real = float(re.search(r"\(24 frames, ([\d.]+) s\)", _cli(args)).group(1))  # the job, as it reports
        ratios.append(estimate / real)
        print(f"{clip}: estimated {estimate:.1f} s, ran {real:.1f} s ({estimate / real - 1:+.0%})")
        if 0.7 <= ratios[-1] <= 1.3:
            break
    assert 0.7 <= ratios[-1] <= 1.3, ratios
