"""CLI habits shared with the tools people know: Real-ESRGAN-style short flags, `models`, `--version`."""

from __future__ import annotations

import av
import pytest
from upscale_media import SMALL_WEIGHTS, write_video

from realbasicvsr import __version__
from realbasicvsr.cli import main


def test_short_flags_like_real_esrgan(tmp_path, capsys):
    src = write_video(tmp_path / "in.mp4", 4, audio=False)
    out = tmp_path / "out.mp4"
    args = ["upscale", "-i", str(src), "-o", str(out), "-n", str(SMALL_WEIGHTS), "-s", "2", "-t", "32", "--fp32",
            "--no-progress"]
    assert main(args) == 0
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (2 * 64, 2 * 48)
        assert v.frames == 4 or sum(1 for _ in c.decode(v)) == 4


def test_upscale_without_any_input_is_a_one_line_error(tmp_path, capsys):
    assert main(["upscale", "-o", str(tmp_path / "o.mp4"), "-n", str(SMALL_WEIGHTS)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no input" in err
    assert not (tmp_path / "o.mp4").exists()


def test_models_lists_the_zoo_offline_first(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("realbasicvsr_")]
    names = [line.split()[0] for line in lines]
    assert names[:2] == ["realbasicvsr_lite_x4", "realbasicvsr_lite_x2"]
    assert [line.split()[0] for line in out.splitlines() if "built in (offline)" in line] == ["bicubic", "lanczos"]
    assert {"realbasicvsr_x4", "realbasicvsr_wogan_x4"} <= set(names)
    table = dict(zip(names, lines))
    assert "in the package (offline)" in table["realbasicvsr_lite_x4"] and "MB" in table["realbasicvsr_lite_x4"]
    assert "download from download.openmmlab.com" in table["realbasicvsr_x4"] and "(default)" in table["realbasicvsr_x4"]
    assert " 746.6 " in table["realbasicvsr_x4"] and " 175.6 " in table["realbasicvsr_lite_x4"]  # GFLOP per frame
    assert "Apache-2.0" in table["realbasicvsr_x4"]
    assert str(tmp_path / "checkpoints") in out


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and __version__ in capsys.readouterr().out
