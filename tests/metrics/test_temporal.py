"""The warping error E*warp: 0 for a static clip, small for a smooth pan, large for flicker; through
`evaluate --metrics warp`, with its per-frame plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthetic_frames import frame

from realbasicvsr import RealBasicVSRError
from realbasicvsr.cli import main
from realbasicvsr.io import read_image, write_image
from realbasicvsr.metrics import warping_error


def textured(i: int, h: int = 96, w: int = 128) -> np.ndarray:
    """The shared procedural frame, panned by (+2, +1) px per index, at a size DIS flow works well on."""
    return frame(i, h, w)


def clip(folder: Path, frames) -> Path:
    folder.mkdir(parents=True)
    for i, f in enumerate(frames):
        write_image(folder / f"{i:04d}.png", f)
    return folder


def flicker(f: np.ndarray, i: int) -> np.ndarray:
    return np.clip(f.astype(int) + (30 if i % 2 else 0), 0, 255).astype(np.uint8)


def test_static_pan_and_flicker():
    a = textured(0)
    assert warping_error(a, a) == 0.0
    pan = np.mean([warping_error(textured(i), textured(i - 1)) for i in range(1, 6)])
    flick = np.mean([warping_error(flicker(textured(i), i), flicker(textured(i - 1), i - 1)) for i in range(1, 6)])
    assert pan < 0.2  # the flow follows the pan: almost nothing left (measured ~0.001)
    assert flick > 5 and flick > 100 * pan  # +30 levels every other frame: ~(30/255)^2 x 1000 = 13.8
    assert flick == pytest.approx((30 / 255) ** 2 * 1000, rel=0.2)
    inverted = np.mean([warping_error(textured(i) if i % 2 == 0 else 255 - textured(i),
                                      textured(i - 1) if (i - 1) % 2 == 0 else 255 - textured(i - 1))
                        for i in range(1, 6)])
    assert inverted > 50 and inverted > 1000 * max(pan, 1e-4)  # every other frame inverted


def test_occlusions_are_masked():
    """A square that appears from nowhere is an occlusion: masked, so the error stays near the pan's."""
    prev, cur = textured(0), textured(1).copy()
    cur[40:60, 50:70] = 0
    value, mask = warping_error(cur, prev, return_mask=True)
    assert not mask[45:55, 55:65].all()
    plain = float(np.square(cur / 255.0 - prev / 255.0).mean() * 1000)
    assert value < plain


def test_sizes_must_match():
    with pytest.raises(RealBasicVSRError, match="one size"):
        warping_error(textured(0), textured(0, h=48))


def test_evaluate_warp_table_and_plot(tmp_path, capsys):
    clip(tmp_path / "clips" / "static", [textured(0)] * 5)
    clip(tmp_path / "clips" / "pan", [textured(i) for i in range(5)])
    clip(tmp_path / "clips" / "flicker", [flicker(textured(i), i) for i in range(5)])
    plot = tmp_path / "plot.png"
    assert main(["evaluate", str(tmp_path / "clips"), "--metrics", "niqe,warp", "--per-frame", "--quiet",
                 "--plot", str(plot), "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "E*warp x1e-3 (RGB) ↓" in out
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")[1:]]
            for line in out.splitlines()[2:]}
    warp = {name: float(rows[name][2]) for name in ("static", "pan", "flicker")}
    assert warp["static"] == 0.0 and warp["pan"] < 0.2 and warp["flicker"] > 5
    assert rows["static #0"][2] == "-"  # the first frame has no predecessor
    img = read_image(plot)
    assert img.shape == (2 * 220, 900, 3) and img[:220].std() > 5 and img[220:].std() > 5


def test_plot_must_be_png(tmp_path, capsys):
    c = clip(tmp_path / "c", [textured(0)] * 2)
    assert main(["evaluate", str(c), "--metrics", "warp", "--plot", str(tmp_path / "p.jpg"), "--quiet"]) == 2
    assert "PNG" in capsys.readouterr().err
