"""`realbasicvsr degrade` end to end through the CLI on generated videos and frame folders."""

import json

import av
import numpy as np
import pytest

from realbasicvsr.cli import main
from realbasicvsr.io import open_source, read_image, write_image


def make_video(path, n=12, w=64, h=48):
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": "10"}
        yy, xx = np.mgrid[0:h, 0:w]
        for i in range(n):
            img = np.stack([(xx * 4 + i * 6) % 256, (yy * 5) % 256, ((xx + yy) * 3) % 256], -1).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def frames_of(path):
    with open_source(path) as src:
        return np.stack(list(src)), src


def test_degrade_video_to_video(tmp_path, capsys):
    src = make_video(tmp_path / "clean.mp4")
    out = tmp_path / "lq.mp4"
    rc = main(["degrade", str(src), "-o", str(out), "--seed", "3", "--quiet", "--window", "5"])
    assert rc == 0 and out.is_file()
    frames, info = frames_of(out)
    assert frames.shape == (12, 12, 16, 3)
    assert info.fps == pytest.approx(10)
    assert "wrote 12 degraded frames" in capsys.readouterr().err


def test_degrade_to_frames_is_reproducible_and_seed_dependent(tmp_path):
    src = make_video(tmp_path / "clean.mp4", n=7)
    outs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = tmp_path / name
        assert main(["degrade", str(src), "-o", str(out), "--seed", str(seed), "--scale", "2", "--quiet",
                     "--params-json", str(tmp_path / f"{name}.json")]) == 0
        files = sorted(out.iterdir())
        assert [f.name for f in files] == [f"{i:08d}.png" for i in range(7)]
        outs[name] = np.stack([read_image(f) for f in files])
    assert outs["a"].shape == (7, 24, 32, 3)
    np.testing.assert_array_equal(outs["a"], outs["b"])
    assert not np.array_equal(outs["a"], outs["c"])
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["seed"] == 5 and doc["config"]["scale"] == 2
    walked = [v for op in doc["drawn"].values() if isinstance(op, dict) and op["active"] for v in op.values()
              if isinstance(v, list) and len(v) == 7]
    assert walked  # per-frame parameters of the whole input are logged


def test_degrade_frame_folder_with_config_and_no_sharpen(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(folder / f"f{i}.png", rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
    cfg = tmp_path / "off.toml"
    off = "prob = 0.0\n"
    cfg.write_text("".join(f"[{o}.{k}]\n{off}" for o in ("first", "second") for k in ("blur", "resize", "noise", "jpeg"))
                   + "[first.video]\nprob = 0.0\n[final.video]\nprob = 0.0\n[final.sinc]\nprob = 0.0\n"
                   + "[final]\ninterpolations = ['area']\ninterpolation_probs = [1.0]\n")
    out = tmp_path / "lq"
    assert main(["degrade", str(folder), "-o", str(out), "--seed", "0", "--config", str(cfg), "--no-sharpen", "--quiet"]) == 0
    import cv2
    for i in range(4):
        clean = read_image(folder / f"f{i}.png").astype(np.float32) / 255
        ref = np.clip(np.rint(cv2.resize(clean, (10, 8), interpolation=cv2.INTER_AREA) * 255), 0, 255)
        np.testing.assert_array_equal(read_image(out / f"{i:08d}.png"), ref.astype(np.uint8))


def test_errors_are_one_line_and_leave_nothing_behind(tmp_path, capsys):
    src = make_video(tmp_path / "clean.mp4", n=3)
    existing = tmp_path / "exists"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    assert main(["degrade", str(src), "-o", str(existing), "--seed", "1", "--quiet"]) == 2
    assert (existing / "keep.txt").read_text() == "mine"
    assert "already exists" in capsys.readouterr().err
    assert main(["degrade", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "o"), "--seed", "1"]) == 2
    assert main(["degrade", str(src), "-o", str(tmp_path / "o2"), "--seed", "1", "--scale", "100"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[first.blur]\nprobb = 1\n")
    assert main(["degrade", str(src), "-o", str(tmp_path / "o3"), "--seed", "1", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown degradation setting 'first.blur.probb'" in err
    assert all(line.startswith("realbasicvsr degrade: error:") for line in err.strip().splitlines())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "clean.mp4", "exists"]


def test_walks_continue_across_windows(tmp_path):
    src = make_video(tmp_path / "clean.mp4", n=9)
    log = tmp_path / "p.json"
    assert main(["degrade", str(src), "-o", str(tmp_path / "lq"), "--seed", "4", "--window", "2", "--quiet",
                 "--params-json", str(log)]) == 0
    assert len(list((tmp_path / "lq").iterdir())) == 9
    drawn = json.loads(log.read_text())["drawn"]
    steps = {"sigma_x": 0.02, "sigma_y": 0.02, "rotation": 0.31416, "beta_gaussian": 0.05, "beta_plateau": 0.1,
             "omega": 0.0628, "sigma": 0.1, "quality": 3, "scale": 0.03}
    checked = 0
    for stage, op in drawn.items():
        if not isinstance(op, dict) or not op["active"]:
            continue
        for name, values in op.items():
            if name in steps and isinstance(values, list):
                assert len(values) == 9
                assert np.abs(np.diff(values)).max() <= steps[name] + 1e-9, (stage, name)
                checked += 1
    assert checked >= 3


def test_video_rate_per_pixel_from_a_config_file(tmp_path, capsys):
    """`bits_per_pixel` in a config reaches the encoder (logged per clip); a bad range is one line, exit 2."""
    src = make_video(tmp_path / "clean.mp4", n=4)
    cfg = tmp_path / "rate.toml"
    cfg.write_text("[final.video]\nprob = 1.0\ncodecs = ['libx264']\ncodec_probs = [1.0]\nbits_per_pixel = [0.2, 0.2]\n")
    log = tmp_path / "p.json"
    assert main(["degrade", str(src), "-o", str(tmp_path / "lq"), "--seed", "1", "--quiet", "--config", str(cfg),
                 "--params-json", str(log)]) == 0
    video = json.loads(log.read_text())["drawn"]["final.video"]
    assert video["active"] and video["bits_per_pixel"] == pytest.approx(0.2)
    assert video["rate"] >= 25 and video["bitrate"] >= 4000  # whole kbit/s for the encoder
    assert 16 * 12 <= video["bitrate"] / video["rate"] / 0.2 <= 64 * 48  # the pixels of a frame it encoded
    capsys.readouterr()
    cfg.write_text("[final.video]\nbits_per_pixel = [0.5, 0.1]\n")
    assert main(["degrade", str(src), "-o", str(tmp_path / "lq2"), "--seed", "1", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "final.video.bits_per_pixel" in err and not (tmp_path / "lq2").exists()
