"""`realbasicvsr prepare-reds`: sub-image positions, content, resuming, and the CLI."""

import os

import numpy as np

from realbasicvsr.cli import main
from realbasicvsr.data import crop_positions, reds_sequences
from realbasicvsr.io import read_image

from .test_sequences import make_reds


def test_crop_positions_cover_the_frame():
    assert crop_positions(720, 480, 240) == [0, 240]
    assert crop_positions(1280, 480, 240) == [0, 240, 480, 720, 800]
    assert crop_positions(960, 480, 240) == [0, 240, 480]
    assert crop_positions(300, 480, 240) == [0]


def test_prepare_reds_cli_cuts_resumes_and_feeds_the_dataset(tmp_path, capsys):
    root = make_reds(tmp_path, clips=("000", "007"), frames=3, h=36, w=60)
    assert main(["prepare-reds", str(root), "--crop", "24", "--step", "12", "--quiet"]) == 0
    out = root / "train_sharp_sub"
    assert "sub-image sequences in" in capsys.readouterr().err
    # rows at 0, 12; columns at 0, 12, 24, 36 -> 8 positions per clip, raster order
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{c}_s{i:03d}" for c in ("000", "007") for i in range(1, 9)]
    src = read_image(root / "train_sharp" / "007" / "00000002.png")
    np.testing.assert_array_equal(read_image(out / "007_s006" / "00000002.png"), src[12:36, 12:36])
    np.testing.assert_array_equal(read_image(out / "007_s004" / "00000002.png"), src[0:24, 36:60])
    assert [s.name for s in reds_sequences(root)] == [f"007_s{i:03d}" for i in range(1, 9)]
    # a second run skips finished clips; a damaged clip is redone
    stamp = os.stat(out / "000_s001" / "00000000.png").st_mtime_ns
    (out / "007_s003" / "00000001.png").unlink()
    assert main(["prepare-reds", str(root), "--crop", "24", "--step", "12", "--quiet", "--workers", "2"]) == 0
    assert os.stat(out / "000_s001" / "00000000.png").st_mtime_ns == stamp
    assert (out / "007_s003" / "00000001.png").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_prepare_reds_errors(tmp_path, capsys):
    assert main(["prepare-reds", str(tmp_path / "missing")]) == 2
    (tmp_path / "empty" / "train_sharp").mkdir(parents=True)
    assert main(["prepare-reds", str(tmp_path / "empty")]) == 2
    assert "no clip folders" in capsys.readouterr().err
