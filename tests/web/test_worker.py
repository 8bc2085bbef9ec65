"""The web worker's preview on a fake clock: the seconds per frame it reports are the timed model call's, the
warm-up call retimed, and the projected run is ``--dry-run``'s estimate for the whole clip."""

from __future__ import annotations

from conftest import SAMPLE
from fake_clock import FakeClock

from realbasicvsr import timing
from realbasicvsr.inference import Upscaler, calibrate
from realbasicvsr.io import read_image
from realbasicvsr.web import worker
from realbasicvsr.web.jobs import JobSettings


def test_preview_times_the_model_and_projects_the_whole_clip(tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing, "time", clock)
    call, calls = Upscaler.__call__, []

    def timed_call(self, frames, *a, **k):  # the first call (with the warm-up) takes 2 s, the second 0.75 s
        calls.append(len(frames))
        clock.now += 2.0 if len(calls) == 1 else 0.75
        return call(self, frames, *a, **k)

    encoded = []

    def io_seconds_per_frame(source, kind, out_size, output):
        encoded.append((kind, out_size))
        return 0.125

    monkeypatch.setattr(Upscaler, "__call__", timed_call)
    monkeypatch.setattr(calibrate, "io_seconds_per_frame", io_seconds_per_frame)
    report = worker.preview(SAMPLE, tmp_path / "preview", JobSettings(model="bicubic"))
    assert calls == [3, 3]  # the middle frame and one neighbour each side; under 3 s, so timed again
    assert report["seconds_per_frame"] == 0.75 / 3
    assert encoded == [("video", (640, 480))]
    assert report["projected_seconds"] == 24 * 0.125  # bicubic: no model cost, the 24 frames' decode + encode
    assert (report["frame"], report["width"], report["height"]) == (12, 640, 480)
    assert read_image(tmp_path / "preview" / "after.png").shape == (480, 640, 3)
    assert read_image(tmp_path / "preview" / "before.png").shape == (120, 160, 3)
