"""How close ``upscale --dry-run``'s time estimate lands to the real run, each in a fresh process as a user runs them.

For each clip: the estimate (the "total" line of ``--dry-run``), then the real job's own seconds (its "wrote"
line), repeated ``--rounds`` times in alternation because the machine's speed drifts; prints estimate / run
per round and the median. The clips: the bundled sample (24 frames of 160x120) and a 24-frame 320x180
moving test pattern.

    python benchmarks/estimate.py                      # realbasicvsr_lite_x4, 3 rounds
    python benchmarks/estimate.py --model realbasicvsr_lite_x2 --rounds 5
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from upscale import moving_frames, write_clip

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample.mp4"
UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0}


def cli(args: list[str]) -> str:
    """stdout + stderr of ``realbasicvsr upscale ARGS`` in a fresh process."""
    r = subprocess.run([sys.executable, "-m", "realbasicvsr", "upscale", *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr[-2000:])
    return r.stdout + r.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="realbasicvsr_lite_x4", help="zoo name or checkpoint")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pattern = Path(tmp) / "pattern_320x180.mp4"
        write_clip(pattern, moving_frames(24, 180, 320))
        for name, clip in (("sample 160x120", SAMPLE), ("pattern 320x180", pattern)):
            args = [str(clip), "-o", str(Path(tmp) / "out.mp4"), "-n", a.model, "--no-progress", "--overwrite"]
            ratios = []
            for i in range(a.rounds):
                total = re.search(r"total: 1 job\(s\), ~([\d.]+) (s|min|h)", cli([*args, "--dry-run"]))
                estimate = float(total.group(1)) * UNITS[total.group(2)]
                real = float(re.search(r"\(24 frames, ([\d.]+) s[;)]", cli(args)).group(1))
                ratios.append(estimate / real)
                print(f"{name} round {i + 1}: estimated {estimate:.1f} s, ran {real:.1f} s ({ratios[-1]:.2f})",
                      flush=True)
            print(f"{name}: estimate / run median {statistics.median(ratios):.2f} "
                  f"(rounds {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
