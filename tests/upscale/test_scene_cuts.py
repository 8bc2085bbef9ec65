"""Scene cuts: a two-shot clip comes out exactly as its shots upscaled alone; the detector finds real cuts and
no false ones on pans, fades and flashes; cut lists; ranks split on a cut equal one process."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from upscale_media import SMALL_WEIGHTS, decode, frame, write_video

from realbasicvsr import load_model
from realbasicvsr.cli import main
from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.inference import EngineOptions, OutputOptions, Upscaler, upscale_file
from realbasicvsr.inference.pipe import upscale_frames
from realbasicvsr.inference.scenes import (
    Shots, find_cuts, parse_cut_list, shots_for, split_windows, window_starts,
)
from realbasicvsr.io import open_source, read_image, write_image
from realbasicvsr.report import SettingError, as_flag

SOURCES = Path(__file__).resolve().parents[2] / "data" / "realworld" / "sources"  # git-ignored real clips
SHOT_A, SHOT_B = 10, 8  # frames; the cut is at frame SHOT_A


def shot_b(i: int, h: int = 48, w: int = 64) -> np.ndarray:
    """Another moving scene: a different place in the pattern, flipped, in darker and bluer colours."""
    return np.round(frame(i + 50, h, w)[::-1, :, ::-1] * np.array([0.45, 0.6, 0.95])).astype(np.uint8)


def two_shots() -> tuple[list[np.ndarray], list[np.ndarray]]:
    return [frame(i) for i in range(SHOT_A)], [shot_b(i) for i in range(SHOT_B)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def upscaler() -> Upscaler:
    return Upscaler(load_model(SMALL_WEIGHTS), EngineOptions(device="cpu", precision="fp32", chunk_frames=4, overlap=2))


@pytest.fixture(scope="module")
def alone(upscaler) -> list[np.ndarray]:
    """Each shot upscaled on its own, one after the other."""
    a, b = two_shots()
    return [*upscale_frames(upscaler, a, "off"), *upscale_frames(upscaler, b, "off")]


def test_two_shots_come_out_as_each_shot_alone(tmp_path, alone, capsys):
    """End to end through the CLI on a folder of frames (lossless in, PNGs out): with ``auto`` every frame
    equals the shot upscaled alone, bit for bit, and the cut is reported."""
    a, b = two_shots()
    src = tmp_path / "clip"
    src.mkdir()
    for i, f in enumerate(a + b):
        write_image(src / f"{i:04d}.png", f)
    out = tmp_path / "out"
    args = [str(src), "-o", str(out), "-n", str(SMALL_WEIGHTS), "--precision", "fp32", "--device", "cpu",
            "--chunk-frames", "4", "--overlap", "2", "--no-progress"]
    assert main(["upscale", *args, "--dry-run"]) == 0
    assert f"scene cuts (auto): 1 at frame {SHOT_A}" in capsys.readouterr().out and not out.exists()
    assert main(["upscale", *args]) == 0
    assert f"scene cuts: 1 at frame {SHOT_A}" in capsys.readouterr().err
    got = [read_image(p) for p in sorted(out.glob("*.png"))]
    assert len(got) == SHOT_A + SHOT_B
    for i, (g, e) in enumerate(zip(got, alone)):
        assert np.array_equal(g, e), i


def test_without_cuts_the_frames_next_to_the_cut_are_harmed(upscaler, alone):
    """``off`` propagates features across the cut: the two frames on each side of it fall below 40 dB against
    each shot alone (the lite model on real shots: 30-34 dB, benchmarks/scene_cuts.py); frames in windows
    that end before the cut are untouched."""
    a, b = two_shots()
    off = list(upscale_frames(upscaler, a + b, "off"))
    near = [psnr(off[i], alone[i]) for i in (SHOT_A - 2, SHOT_A - 1, SHOT_A, SHOT_A + 1)]
    assert all(p < 40.0 for p in near), near
    assert all(np.array_equal(off[i], alone[i]) for i in range(8))  # windows 0-1 see frames 0-9 only
    auto = list(upscale_frames(upscaler, a + b, "auto"))
    assert all(np.array_equal(x, y) for x, y in zip(auto, alone))


def test_a_clip_without_cuts_is_unchanged_by_auto(upscaler):
    """The stream with ``auto`` on a clip with no cut is the stream without the feature, byte for byte."""
    clip = [frame(i) for i in range(9)]
    shots = shots_for("auto", Fraction(25))
    auto = list(upscaler.stream(clip, shots=shots))
    plain = list(upscaler.stream(clip))
    assert shots.cuts == []
    assert [(c.index, c.start) for c in auto] == [(c.index, c.start) for c in plain]
    assert all(np.array_equal(x, y) for c, d in zip(auto, plain) for x, y in zip(c.frames, d.frames))


def test_windows_restart_at_cuts_and_resume_by_index():
    shots = Shots(cuts=[5])
    wins = list(shots.windows(range(12), chunk=4, after=2))
    assert [(w.index, w.write_start, w.write_stop, w.items) for w in wins] == [
        (0, 0, 4, [0, 1, 2, 3, 4]), (1, 4, 5, [4]), (2, 5, 9, [5, 6, 7, 8, 9, 10]), (3, 9, 12, [9, 10, 11])]
    resumed = list(Shots(cuts=[5]).windows(range(12), chunk=4, after=2, first_window=3, before=2))
    assert [(w.index, w.start, w.items) for w in resumed] == [(3, 7, [7, 8, 9, 10, 11])]  # context from the shot only
    assert window_starts([5], 12, 4) == [0, 4, 5, 9]


def test_rank_boundaries_snap_to_a_near_cut():
    # 40 frames, chunks of 4, a cut at 22: windows start 0,4,..,20,22,26,...; the even boundary (window 5) moves
    # to the shot's first window (6)
    assert split_windows([22], 40, 4, 0, 2) == (0, 6) and split_windows([22], 40, 4, 1, 2) == (6, None)
    assert split_windows([3], 40, 4, 0, 2) == (0, 5)  # a cut far from the middle leaves the even split
    assert split_windows([], 40, 4, 1, 2) == (5, None)


def test_cut_lists_take_frames_and_times(tmp_path):
    assert parse_cut_list("# cuts\n120\n 2.5s, 0:03.0 ; 0:00:04\n", Fraction(30000, 1001)) == [75, 90, 120]
    with pytest.raises(RealBasicVSRError, match="line 2: 'abc'"):
        parse_cut_list("1\nabc\n", Fraction(25))
    (tmp_path / "cuts.txt").write_text("10\n")
    assert shots_for(str(tmp_path / "cuts.txt"), Fraction(25)).cuts == [10]
    with pytest.raises(SettingError, match="scene_cuts nope") as info:
        shots_for("nope", Fraction(25))
    assert info.value.render(as_flag).startswith("--scene-cuts nope: ")


def test_a_cut_list_file_gives_the_shots(tmp_path, upscaler, alone):
    a, b = two_shots()
    (tmp_path / "cuts.txt").write_text(f"{SHOT_A}\n")
    got = list(upscale_frames(upscaler, a + b, str(tmp_path / "cuts.txt")))
    assert all(np.array_equal(x, y) for x, y in zip(got, alone))


# ------------------------------------------------------------------------------------ detector false cuts


def pan(n: int, step: int, h: int = 72, w: int = 96) -> list[np.ndarray]:
    """A fast pan: a window sliding ``step`` pixels a frame across a large frame."""
    big = frame(0, h, w + n * step)
    return [np.ascontiguousarray(big[:, i * step:i * step + w]) for i in range(n)]


def fade(frames: list[np.ndarray], start: int, length: int) -> list[np.ndarray]:
    """Fade to black over ``length`` frames from ``start``, then black."""
    out = []
    for i, f in enumerate(frames):
        k = min(1.0, max(0.0, (i - start) / length))
        out.append(np.round(f * (1.0 - k)).astype(np.uint8))
    return out


def test_detector_finds_no_cut_in_pans_fades_and_flashes():
    assert find_cuts(pan(30, 12)) == []  # 12 px a frame across 96: an eighth of the picture each frame
    moving = [frame(i) for i in range(40)]
    assert find_cuts(fade(moving, 10, 8)) == []
    assert find_cuts(fade(moving, 10, 3)) == []  # a fast fade
    flash = [f if i not in (15, 16) else np.clip(f.astype(int) + 140, 0, 255).astype(np.uint8) for i, f in enumerate(moving)]
    assert find_cuts(flash) == []
    a, b = two_shots()
    assert find_cuts(a + b) == [SHOT_A]


def _real(name: str, count: int) -> list[np.ndarray]:
    path = SOURCES / name
    if not path.is_file():
        pytest.skip(f"needs the real clips of benchmarks/realworld.py fetch (data/realworld/sources/{name})")
    with open_source(path) as src:
        out = []
        for f in src:
            out.append(f[::4, ::4].copy())  # the detector reduces frames anyway; this keeps the test light
            if len(out) == count:
                break
    return out


def test_detector_on_real_clips():
    """Real footage: city.mpg has one cut (frame 116, checked by eye); cockatoo (fast head and camera motion),
    vtest (people walking) and the same clips faded out have none."""
    city = _real("city.mpg", 190)
    assert find_cuts(city) == [116]
    cockatoo = _real("cockatoo.mp4", 280)
    assert find_cuts(cockatoo) == []
    assert find_cuts(fade(cockatoo[:120], 60, 10)) == []
    assert find_cuts(fade(city[:100], 50, 5)) == []
    assert find_cuts(_real("vtest.avi", 300)) == []


# --------------------------------------------------------------------------- resume and ranks keep the cuts


def test_the_manifest_keeps_the_cuts(tmp_path):
    """An interrupted run records the cuts found so far next to its segments; the resumed run equals an
    uninterrupted one."""
    a, b = two_shots()
    src = tmp_path / "clip"
    src.mkdir()
    for i, f in enumerate(a + b):
        write_image(src / f"{i:04d}.png", f)
    eng = EngineOptions(device="cpu", precision="fp32", chunk_frames=4, overlap=2)
    calls = []

    class Crashing(Upscaler):
        def window(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 5:  # the second window of shot B
                raise KeyboardInterrupt
            return super().window(*args, **kwargs)

    model = load_model(SMALL_WEIGHTS)
    opts = OutputOptions(progress=False)
    with pytest.raises(KeyboardInterrupt):
        upscale_file(src, tmp_path / "out", Crashing(model, eng), opts)
    manifest = json.loads((tmp_path / ".out.realbasicvsr-work" / "manifest.json").read_text())
    assert manifest["cuts"] == [SHOT_A] and len(manifest["segments"]) == 4
    assert manifest["identity"]["scene_cuts"] == "auto"
    res = upscale_file(src, tmp_path / "out", Upscaler(model, eng), OutputOptions(progress=False, resume=True))
    assert res.cuts == [SHOT_A] and res.resumed_frames == SHOT_A + 4  # windows 0-3: shot A and 4 frames of B
    uninterrupted = upscale_file(src, tmp_path / "again", Upscaler(model, eng), opts)
    assert uninterrupted.cuts == [SHOT_A]
    for p, q in zip(sorted((tmp_path / "out").glob("*.png")), sorted((tmp_path / "again").glob("*.png")), strict=True):
        assert np.array_equal(read_image(p), read_image(q)), p.name


@pytest.mark.slow
def test_ranks_split_on_a_cut_equal_one_process(tmp_path):
    """torchrun, 2 gloo ranks, a cut near the middle: the rank boundary moves onto it, so rank 1 starts a shot
    and needs no context; the joined output equals one process frame for frame."""
    from test_torchrun import _torchrun, single_run

    n_a, n_b = 9, 11
    clip = [frame(i) for i in range(n_a)] + [shot_b(i) for i in range(n_b)]
    src = tmp_path / "in.mkv"
    write_video(src, len(clip), audio=False, codec="ffv1", frames=clip)
    common = ["-n", str(SMALL_WEIGHTS), "--chunk-frames", "4", "--overlap", "2", "--no-progress",
              "--precision", "fp32", "--codec", "ffv1"]
    res = _torchrun([str(src), "-o", str(tmp_path / "split.mkv"), *common])
    assert res.returncode == 0, res.stderr[-3000:]
    # windows start 0, 4, 8 | 9, 13, 17: the even boundary (window 3) is the cut's window
    assert f"[rank 1/2] upscaled {n_b} frames" in res.stderr and f"scene cuts: 1 at frame {n_a}" in res.stderr
    single_run(src, tmp_path / "single.mkv", 4)
    split, one = decode(tmp_path / "split.mkv"), decode(tmp_path / "single.mkv")
    assert len(split) == len(one) == len(clip)
    for i in range(len(clip)):
        assert np.array_equal(split[i], one[i]), i

