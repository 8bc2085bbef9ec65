"""The reporting channel: one stream of events rendered by each front end, and errors about settings that
each front end spells its own way."""

from __future__ import annotations

import io

import pytest

from realbasicvsr.cli import main
from realbasicvsr.inference import EngineOptions
from realbasicvsr.report import Event, Reporter, SettingError, as_flag, format_duration, print_to, render_settings


def test_a_setting_error_names_api_settings_and_the_cli_spells_them_as_flags(tmp_path, capsys):
    with pytest.raises(SettingError) as caught:
        EngineOptions(chunk_frames=0)
    assert str(caught.value) == "chunk_frames must be >= 1 and overlap >= 0"
    assert caught.value.render(as_flag) == "--chunk-frames must be >= 1 and --overlap >= 0"
    clip = tmp_path / "in.png"
    clip.write_bytes(b"")  # never read: the options are refused first
    assert main(["upscale", str(clip), "-o", str(tmp_path / "out.png"), "--tile", "8"]) == 2
    assert capsys.readouterr().err == ("realbasicvsr upscale: error: --tile must be 0 (off) or at least 16 pixels\n")


def test_render_settings_touches_only_marked_names():
    text = "raise `chunk_frames` (now 2); chunk_frames stays as written"
    assert render_settings(text) == "raise chunk_frames (now 2); chunk_frames stays as written"
    assert render_settings(text, as_flag) == "raise --chunk-frames (now 2); chunk_frames stays as written"


def test_the_terminal_and_a_job_render_the_same_warnings():
    stream = io.StringIO()
    reporter = Reporter(print_to(stream, as_flag))
    reporter.warning("before the job")
    with reporter.collecting_warnings() as warnings:
        reporter.progress(3, 10)
        reporter.warning("raise `chunk_frames`")
        reporter.log("a line of the story")
    reporter.warning("after the job")
    assert warnings == ["raise `chunk_frames`"]
    assert stream.getvalue().splitlines() == [
        "warning: before the job", "warning: raise --chunk-frames", "a line of the story", "warning: after the job"]
    assert len(reporter.listeners) == 1  # the collector left with its block


def test_listening_forwards_every_event_only_inside_the_block():
    seen: list[Event] = []
    reporter = Reporter()
    with reporter.listening(seen.append):
        reporter.progress(1, None)
    reporter.progress(2, None)
    assert seen == [Event("progress", done=1, total=None)]


@pytest.mark.parametrize("seconds, text", [(4.24, "4.2 s"), (35.4, "35 s"), (720, "12 min"), (5400, "1.5 h")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
