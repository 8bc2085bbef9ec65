"""Invented texture: a diagonal hatch painted over the flat areas of a bicubic upscale is flagged (> 1.5),
bicubic itself scores 1.0 and a sharper but natural upscale (Lanczos) passes; through `evaluate --base`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from realbasicvsr import RealBasicVSRError
from realbasicvsr.cli import main
from realbasicvsr.io import write_image
from realbasicvsr.metrics import invented_texture
from realbasicvsr.metrics.color import planes
from realbasicvsr.metrics.texture import flat_mask


def scene(h: int = 48, w: int = 64) -> np.ndarray:
    """A low-resolution frame with flat areas, a gentle gradient, a disc and a vertical edge."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32) + [90, 120, 160]
    img[(x - 20) ** 2 + (y - 24) ** 2 < 100] = [200, 60, 40]
    img[:, 44:] = [40, 140, 60]
    img += (y / h * 30)[..., None]
    return img.round().astype(np.uint8)


def bicubic(lq: np.ndarray, scale: int) -> np.ndarray:
    x = torch.from_numpy(lq).permute(2, 0, 1)[None].float() / 255
    y = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)
    return (y * 255).round().byte()[0].permute(1, 2, 0).numpy()


def hatched(img: np.ndarray, amplitude: int) -> np.ndarray:
    """A diagonal +-amplitude pattern of period 4 px over the whole frame (it matters only where it is flat)."""
    y, x = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    pattern = amplitude * np.sign(np.sin((x + y) * np.pi / 2 + 0.3))
    return np.clip(img.astype(int) + pattern[..., None], 0, 255).astype(np.uint8)


@pytest.mark.parametrize("scale", [2, 4])
def test_hatch_flagged_clean_upscales_pass(scale):
    lq = scene()
    base = bicubic(lq, scale)
    assert flat_mask(planes(base, "y")[0]).mean() > 0.8  # the scene is mostly flat: the measure sees it
    assert invented_texture(base, base) == 1.0
    lanczos = cv2.resize(lq, (lq.shape[1] * scale, lq.shape[0] * scale), interpolation=cv2.INTER_LANCZOS4)
    assert 0.95 < invented_texture(lanczos, base) < 1.1  # sharper edges, nothing painted (measured 1.02)
    assert 2.5 < invented_texture(hatched(base, 1), base) < 4.5  # a +-1 level hatch (measured 3.2-3.4)
    assert 7 < invented_texture(hatched(base, 2), base) < 14  # +-2 levels (measured 9.5-10.1)


def test_natural_detail_is_not_invented():
    """On a smooth textured frame with few flat pixels, Lanczos stays at bicubic's level."""
    y, x = np.mgrid[0:48, 0:64].astype(np.float32)
    lq = (np.stack([0.5 + 0.35 * np.sin(x / 5) * np.cos(y / 7), 0.5 + 0.35 * np.sin((x + y) / 9),
                    0.5 + 0.3 * np.cos(x / 11 - y / 4)], -1) * 255).round().astype(np.uint8)
    base = bicubic(lq, 4)
    lanczos = cv2.resize(lq, (256, 192), interpolation=cv2.INTER_LANCZOS4)
    assert abs(invented_texture(lanczos, base) - 1) < 0.05
    assert invented_texture(hatched(base, 2), base) > 5


def test_no_flat_pixel_is_nan_and_sizes_must_match():
    rng = np.random.default_rng(0)
    busy = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)  # std ~70 everywhere: nothing is flat
    assert np.isnan(invented_texture(busy, busy))
    with pytest.raises(RealBasicVSRError, match="one size"):
        invented_texture(busy, busy[:16])
    with pytest.raises(RealBasicVSRError, match="one plane"):
        invented_texture(busy, busy, channel="rgb")


def clip(folder: Path, frames) -> Path:
    folder.mkdir(parents=True)
    for i, f in enumerate(frames):
        write_image(folder / f"{i:04d}.png", f)
    return folder


def test_evaluate_cli_texture_needs_base(tmp_path, capsys):
    base_frames = [bicubic(np.roll(scene(), i, axis=1), 2) for i in range(3)]
    out = clip(tmp_path / "out", [hatched(b, 2) for b in base_frames])
    base = clip(tmp_path / "base", base_frames)
    assert main(["evaluate", str(out), "--base", str(base), "--metrics", "texture", "--quiet",
                 "--json", str(tmp_path / "s.json")]) == 0
    table = capsys.readouterr().out
    assert "Invented texture (Y)" in table
    mean = float(table.strip().splitlines()[-1].split("|")[3].strip(" *"))
    assert 7 < mean < 14
    assert main(["evaluate", str(base), "--base", str(base), "--metrics", "texture", "--quiet"]) == 0
    assert "**1.0000**" in capsys.readouterr().out
    assert main(["evaluate", str(out), "--metrics", "texture", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--base" in err


def test_test_command_refuses_texture_before_upscaling(tmp_path, capsys):
    """`test` has no bicubic base: it says how to score texture instead of failing after the upscale."""
    clip(tmp_path / "set" / "a", [scene()])
    assert main(["test", "--model", str(tmp_path / "missing.pth"), "--dataset", str(tmp_path / "set"),
                 "--metrics", "texture", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "evaluate OUT --base BICUBIC --metrics texture" in err
