"""``--dry-run``'s time estimate: the job's frames times the model's and the encoder's cost measured on this
machine, plus the one-off set-up. The measurements run on a fake clock here, so the arithmetic is checked
exactly; how close the estimate lands to a real run is a timing claim, measured by
``benchmarks/estimate.py`` (docs/performance.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fake_clock import FakeClock

from realbasicvsr.cli import main
from realbasicvsr.hub import MODEL_ZOO
from realbasicvsr import timing
from realbasicvsr.inference import EngineOptions, Upscaler, calibrate
from realbasicvsr.report import format_duration
from realbasicvsr.cost import gflops_per_written_frame

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample.mp4"  # 24 frames of 160x120
LITE = MODEL_ZOO["realbasicvsr_lite_x4"].config


def test_model_speed_is_the_window_flops_over_its_measured_seconds(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing, "time", clock)
    calls = []

    def window(self, frames, start, stop):  # the warm-up call takes 1 s, every later one 0.125 s
        calls.append((len(frames), start, stop, frames[0].shape))
        clock.now += 1.0 if len(calls) == 1 else 0.125

    monkeypatch.setattr(Upscaler, "window", window)
    speed, setup = calibrate.model_speed(LITE, EngineOptions(device="cpu", precision="fp32"), (96, 64))
    # the timed window is 3 written frames and 1 of context at the job's LR size, repeated for 0.3 s
    assert calls == [(4, 0, 3, (64, 96, 3))] * 4
    assert speed == pytest.approx(gflops_per_written_frame(LITE, 64, 96, 3, 1, carried=False) * 3 / 0.125, rel=1e-12)
    assert setup == pytest.approx(1.0 - 0.125, rel=1e-12)


@pytest.mark.parametrize("chunk", [24, 10])
def test_estimate_is_frames_times_the_measured_costs_plus_set_up(tmp_path, capsys, monkeypatch, chunk):
    gflops_per_s, setup, io_per_frame = 400.0, 1.5, 0.0625
    measured = []

    def model_speed(arch, options, size):
        measured.append(size)
        return gflops_per_s, setup

    def io_seconds_per_frame(source, kind, out_size, output):
        measured.append(out_size)
        return io_per_frame

    monkeypatch.setattr(calibrate, "model_speed", model_speed)
    monkeypatch.setattr(calibrate, "io_seconds_per_frame", io_seconds_per_frame)
    overlap = EngineOptions().overlap
    context = min(overlap, 24 - chunk)  # context frames after each chunk, none past the clip's end
    windows = 1 if chunk == 24 else 2  # the first window's kernel set-up, and the last (shorter) one's
    expected = 24 * (gflops_per_written_frame(LITE, 120, 160, chunk, context) / gflops_per_s + io_per_frame) \
        + setup * windows
    assert main(["upscale", str(SAMPLE), "-o", str(tmp_path / "out.mp4"), "-n", "realbasicvsr_lite_x4",
                 "--chunk-frames", str(chunk), "--dry-run"]) == 0
    out = capsys.readouterr().out
    total = re.search(r"total: 1 job\(s\), ~(.+) \(the model measured at ~400 GFLOP/s \(160x120\) on this", out)
    assert total and total.group(1) == format_duration(expected), out
    assert measured == [(160, 120), (640, 480)]  # the model at the LR size, the encoder at the output size
    assert list(tmp_path.iterdir()) == []
