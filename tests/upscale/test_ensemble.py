"""Self-ensemble (``--ensemble N``): the mean of the model over N orientations, streamed, tiled and resumed
exactly like a single pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from upscale_media import SMALL_WEIGHTS, crash_in_window, frame, write_frames

from realbasicvsr import load_model
from realbasicvsr.cli import main
from realbasicvsr.inference import EngineOptions, OutputOptions, Upscaler, upscale_file
from realbasicvsr.inference.engine import frames_to_tensor, orient, unorient
from realbasicvsr.io import read_image
from realbasicvsr.report import SettingError


@pytest.fixture(scope="module")
def model():
    return load_model(SMALL_WEIGHTS)


def test_orientations_are_the_eight_symmetries_of_a_rectangle_and_undo_exactly():
    x = torch.arange(2 * 3 * 5, dtype=torch.float32).reshape(1, 2, 1, 3, 5)
    seen = set()
    for g in range(8):
        y = orient(x, g)
        assert torch.equal(unorient(y, g), x)
        seen.add(tuple(y.flatten().tolist()))
    assert len(seen) == 8


@pytest.mark.parametrize("n", [2, 8])
def test_ensemble_is_the_mean_of_the_model_over_the_orientations(model, n):
    frames = [frame(i, 24, 40) for i in range(5)]
    up = Upscaler(model, EngineOptions(device="cpu", precision="fp32"))
    lqs = frames_to_tensor(frames, up.device)
    with torch.inference_mode():
        mean = sum(unorient(model.forward_window(orient(lqs, g), 0, None, None)[0], g) for g in range(n)) / n
    expected = mean[0].clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    got = Upscaler(model, EngineOptions(device="cpu", precision="fp32", ensemble=n))(frames)
    single = up(frames)
    # the same sums in another order (and memory layout): a level at most, rarely
    assert max(int(np.abs(a.astype(int) - b).max()) for a, b in zip(got, expected)) <= 1
    assert np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(got, expected)]) < 0.01
    assert np.mean([np.abs(a.astype(int) - b).mean() for a, b in zip(got, single)]) > 0.5  # not one pass


def test_ensemble_carries_each_orientations_state_across_chunks_and_tiles(model):
    """Chunked with right context to the clip's end and tiled, the ensemble equals one whole-clip window:
    every orientation of every tile carries its own forward state."""
    frames = [frame(i, 40, 56) for i in range(9)]
    whole = Upscaler(model, EngineOptions(device="cpu", ensemble=4, tile=32, tile_overlap=8))(frames)
    up = Upscaler(model, EngineOptions(device="cpu", ensemble=4, tile=32, tile_overlap=8, chunk_frames=3, overlap=9))
    chunks = list(up.stream(frames))
    assert len(chunks) == 3 and len(chunks[0].state) == 4 * 4  # 2x2 tiles x 4 orientations
    assert all(np.array_equal(a, b) for a, b in zip(whole, [f for c in chunks for f in c.frames]))


def test_ensemble_size_is_checked():
    for bad in (0, 3, 16):
        with pytest.raises(SettingError, match="^ensemble must be one of 1, 2, 4, 8"):
            EngineOptions(ensemble=bad)


def test_cli_ensemble_writes_the_api_result_resumes_exactly_and_refuses_a_bad_size(tmp_path, capsys, monkeypatch):
    src = write_frames(tmp_path / "in", 7)
    out = tmp_path / "out"
    args = ["upscale", str(src), "-o", str(out), "--model", str(SMALL_WEIGHTS), "--no-progress",
            "--chunk-frames", "3", "--overlap", "2", "--ensemble", "2"]
    with monkeypatch.context() as m:
        m.setattr(Upscaler, "window", crash_in_window(2))
        with pytest.raises(RuntimeError, match="simulated"):
            main(args)
    assert not out.exists()
    # the saved state holds both orientations' forward branch
    assert main([*args[:-1], "4", "--resume"]) == 2
    assert "engine.ensemble: 2 then, 4 now" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 0
    ref = tmp_path / "ref"
    eng = EngineOptions(device="cpu", chunk_frames=3, overlap=2, ensemble=2)
    upscale_file(src, ref, Upscaler(load_model(SMALL_WEIGHTS), eng), OutputOptions(progress=False))
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 7 and names == sorted(p.name for p in ref.iterdir())
    assert all(np.array_equal(read_image(out / n), read_image(ref / n)) for n in names)

    capsys.readouterr()
    assert main([*args[:-1], "3", "-o", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--ensemble must be one of 1, 2, 4, 8" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_dry_run_counts_the_ensembles_compute(tmp_path, capsys):
    src = write_frames(tmp_path / "in", 4, 192, 256)  # enough GFLOP per frame that the printed figure is exact to 1%
    base = ["upscale", str(src), "-o", str(tmp_path / "out"), "--model", str(SMALL_WEIGHTS), "--dry-run"]

    def gflop(extra):
        assert main([*base, *extra]) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if "GFLOP/frame" in x)
        return line, float(line.split("~")[1].split(" GFLOP")[0])

    (one_line, one), (eight_line, eight) = gflop([]), gflop(["--ensemble", "8"])
    assert eight == pytest.approx(8 * one, rel=0.02) and "self-ensemble of 8" in eight_line
    assert "self-ensemble" not in one_line
