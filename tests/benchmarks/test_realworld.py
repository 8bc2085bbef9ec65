"""The real-world benchmark in its smoke mode (tiny generated clips, no network): every degradation recipe
makes a plausible low-resolution clip, and the whole path (upscale, evaluate, tables, sheets) runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from realbasicvsr.io import read_image
from realbasicvsr.metrics import psnr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import realworld  # noqa: E402

@pytest.fixture()
def brisque_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $REALBASICVSR_HOME: BRISQUE's model ships in the package, so nothing is downloaded or cached."""
    home = tmp_path / "home"
    monkeypatch.setenv("REALBASICVSR_HOME", str(home))
    monkeypatch.delenv("REALBASICVSR_BRISQUE_URL", raising=False)
    return home


def clean_clip(n: int = 4, h: int = 96, w: int = 128) -> list[np.ndarray]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return [(np.stack([0.5 + 0.35 * np.sin((x + 2 * i) / 5) * np.cos(y / 7), 0.5 + 0.35 * np.sin((x + y) / 9),
                       0.5 + 0.3 * np.cos(x / 11 - y / 4)], -1) * 255).round().astype(np.uint8) for i in range(n)]


@pytest.mark.parametrize("scale", [4, 2])
@pytest.mark.parametrize("recipe", list(realworld.RECIPES))
def test_recipes_degrade_plausibly(recipe, scale):
    gt = clean_clip()
    lq = realworld.RECIPES[recipe](gt, scale, np.random.default_rng(1))
    assert len(lq) == len(gt) and all(f.shape == (96 // scale, 128 // scale, 3) and f.dtype == np.uint8 for f in lq)
    area = [cv2.resize(f, (128 // scale, 96 // scale), interpolation=cv2.INTER_AREA) for f in gt]
    value = np.mean([psnr(a, b) for a, b in zip(lq, area)])
    assert 16 < value < 32  # degraded (not the clean downscale), yet the same picture (measured 18.0-30.7 dB)
    again = realworld.RECIPES[recipe](gt, scale, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(lq, again))  # fixed seeds give fixed sets


def test_smoke_run(tmp_path, brisque_home, capsys):
    out = tmp_path / "results.json"
    realworld.main(["run", "--smoke", "--cache", str(tmp_path / "cache"), "--json", str(out),
                    "--models", "lanczos_x2", "realbasicvsr_lite_x2"])
    text = capsys.readouterr().out
    rows = {r["model"]: r for r in json.loads(out.read_text())}
    assert list(rows) == ["bicubic_x2", "lanczos_x2", "realbasicvsr_lite_x2"]  # bicubic added, first
    bic, lz, lite = rows["bicubic_x2"], rows["lanczos_x2"], rows["realbasicvsr_lite_x2"]
    assert set(bic["paired"]) == set(realworld.RECIPES)
    assert bic["real"]["gen_real"]["texture"] == 1.0 and bic["psnr_delta_mean"] == 0.0
    for recipe, scores in lz["paired"].items():
        assert 22 < scores["psnr_y"] < 50 and 0.6 < scores["ssim_y"] <= 1
        assert abs(scores["psnr_y"] - bic["paired"][recipe]["psnr_y"]) < 0.5  # two interpolators, close
    assert 0.9 < lz["real"]["gen_real"]["texture"] < 1.2
    assert np.isfinite(lite["real"]["gen_real"]["niqe"]) and lite["real"]["gen_real"]["warp"] > 0
    assert lite["s_per_frame"] > 0
    assert "| realbasicvsr_lite_x2 | x2 |" in text and "- realbasicvsr_lite_x2 (x2): " in text
    sheet = read_image(tmp_path / "cache" / "sheets" / "smoke" / "gen_real_x2.png")
    assert sheet.shape[1] > 4 * 256  # LQ and three models, each the whole 128-px output at 2x zoom


def test_smoke_run_paired_only_scores_the_recipes_and_skips_real_clips_and_sheets(tmp_path, capsys):
    out = tmp_path / "results.json"
    realworld.main(["run", "--smoke", "--paired-only", "--cache", str(tmp_path / "cache"), "--json", str(out),
                    "--models", "lanczos_x2", "realbasicvsr_lite_x2+ens2"])
    rows = {r["model"]: r for r in json.loads(out.read_text())}
    assert list(rows) == ["bicubic_x2", "lanczos_x2", "realbasicvsr_lite_x2+ens2"]
    assert (tmp_path / "cache" / "out" / "smoke" / "realbasicvsr_lite_x2+ens2" / "paired" / "film").is_dir()
    assert set(rows["lanczos_x2"]["paired"]) == set(realworld.RECIPES) and rows["lanczos_x2"]["real"] == {}
    assert not (tmp_path / "cache" / "out" / "smoke" / "lanczos_x2" / "real").exists()
    assert not (tmp_path / "cache" / "sheets").exists()
    assert "| lanczos_x2 | x2 |" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="exclude each other"):
        realworld.main(["run", "--smoke", "--paired-only", "--real-only", "--cache", str(tmp_path / "cache")])
