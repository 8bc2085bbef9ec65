"""``realbasicvsr evaluate`` and ``realbasicvsr test`` end to end on generated mini-datasets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from realbasicvsr.cli import main
from realbasicvsr.io import list_frame_files, open_sink, open_source, read_image, write_image
from realbasicvsr.metrics import brisque, niqe, nrqm, pi, psnr, ssim
from realbasicvsr.metrics.brisque import BUNDLED_DIR, URL_ENV, load_model
from realbasicvsr.metrics.nrqm import MODEL_ENV, save_model
from realbasicvsr.models import RealBasicVSRNet


def _clip(folder: Path, frames: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True)
    for i, f in enumerate(frames):
        write_image(folder / f"{i:08d}.png", f)
    return folder


def _table_rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture()
def nrqm_model_env(tmp_path, tiny_nrqm_model, monkeypatch):
    path = save_model(tiny_nrqm_model(seed=7), tmp_path / "nrqm_tiny.npz")
    monkeypatch.setenv(MODEL_ENV, str(path))
    return path


def test_evaluate_folders_and_a_video_with_json_and_csv(tmp_path, brisque_home, textured_image, capsys):
    data = tmp_path / "videos"
    a = [textured_image(128, 144, seed=s) for s in range(3)]
    _clip(data / "clip_a", a)
    with open_sink(data / "clip_b.mp4", fps=25, crf=10) as sink:
        for s in range(3, 6):
            sink.write(textured_image(128, 144, seed=s))
    with open_source(data / "clip_b.mp4") as src:
        b = list(src)
    rc = main(["evaluate", str(data), "--metrics", "niqe,brisque", "--frames", "0,2", "--quiet",
               "--json", str(tmp_path / "out" / "r.json"), "--csv", str(tmp_path / "r.csv")])
    out = capsys.readouterr().out
    assert rc == 0
    rows = _table_rows(out)
    assert set(rows) == {"clip_a", "clip_b", "**mean (2 clips)**"}
    assert "NIQE (gray) ↓" in out.splitlines()[0] and "BRISQUE (gray) ↓" in out.splitlines()[0]
    exp_a = np.mean([niqe(a[0]), niqe(a[2])])
    exp_b = np.mean([niqe(b[0]), niqe(b[2])])
    assert rows["clip_a"][:2] == ["2", f"{exp_a:.4f}"]
    assert rows["clip_b"][:2] == ["2", f"{exp_b:.4f}"]
    doc = json.loads((tmp_path / "out" / "r.json").read_text())
    assert doc["mean"]["niqe"] == pytest.approx((exp_a + exp_b) / 2, rel=1e-12)
    assert doc["clips"][1]["brisque"] == pytest.approx(np.mean([brisque(b[0]), brisque(b[2])]), rel=1e-12)
    assert [(r["clip"], r["frame"]) for r in doc["frames"]] == [("clip_a", 0), ("clip_a", 2), ("clip_b", 0), ("clip_b", 2)]
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0] == "clip,frame,niqe,brisque" and lines[-1].startswith("mean,mean,")
    assert float(lines[1].split(",")[2]) == niqe(a[0])


# Runs the CLI with every outgoing connection refused, as on a machine with no network.
OFFLINE_CLI = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError('network disabled by the test')
socket.socket.connect = socket.socket.connect_ex = refuse
from realbasicvsr.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _evaluate_offline(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path), "REALBASICVSR_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-c", OFFLINE_CLI, "evaluate", *args], env=base | env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_evaluate_niqe_brisque_with_no_network_and_an_empty_cache(tmp_path, textured_image, served_release):
    """The default metrics need nothing from the network or the cache (LIVE's models ship in the package)."""
    frames = [textured_image(96, 128, seed=s) for s in (0, 1)]
    clip = _clip(tmp_path / "clip", frames)
    (tmp_path / "home").mkdir()
    proc = _evaluate_offline(tmp_path, str(clip), "--metrics", "niqe,brisque", "--quiet", "--json", "r.json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    live = load_model(BUNDLED_DIR)
    assert doc["mean"]["niqe"] == pytest.approx(np.mean([niqe(f) for f in frames]), rel=1e-12)
    assert doc["mean"]["brisque"] == pytest.approx(np.mean([brisque(f, model=live) for f in frames]), rel=1e-12)
    assert list((tmp_path / "home").iterdir()) == []  # nothing downloaded or cached
    # the same wrapper does cut the network: asked to download the model (from a live server), it cannot
    url, _ = served_release
    proc = _evaluate_offline(tmp_path, str(clip), "--metrics", "brisque", "--quiet", **{URL_ENV: url})
    assert proc.returncode == 2 and "allmodel" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_evaluate_full_reference_paper_convention(tmp_path, textured_image, capsys):
    gt = [textured_image(64, 64, seed=s) for s in range(2)]
    rng = np.random.default_rng(0)
    out_frames = [np.clip(f.astype(int) + rng.integers(-8, 9, f.shape), 0, 255).astype(np.uint8) for f in gt]
    _clip(tmp_path / "sr" / "x", out_frames)
    _clip(tmp_path / "gt" / "x", gt)
    rc = main(["evaluate", str(tmp_path / "sr"), "--ref", str(tmp_path / "gt"), "--metrics", "psnr,ssim",
               "--convention", "paper", "--per-frame", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    rows = _table_rows(out)
    assert "PSNR (Y) ↑" in out and "SSIM (Y) ↑" in out
    assert rows["x #1"][1:] == [f"{psnr(out_frames[1], gt[1], channel='y'):.4f}", f"{ssim(out_frames[1], gt[1], channel='y'):.4f}"]


def test_evaluate_user_errors_exit_2_with_one_line(tmp_path, textured_image, capsys):
    _clip(tmp_path / "c", [textured_image(100, 100)])
    cases = [
        (["evaluate", str(tmp_path / "c"), "--metrics", "niqe", "--frames", "0,5"], "has 1 frame; frame 5"),
        (["evaluate", str(tmp_path / "c"), "--metrics", "lpips"], "unknown metric lpips"),
        (["evaluate", str(tmp_path / "c"), "--metrics", "psnr"], "need --ref"),
        (["evaluate", str(tmp_path / "nope"), "--metrics", "niqe"], "no such file"),
        (["evaluate", str(tmp_path / "c"), "--metrics", "niqe", "--frames", "a,b"], "comma-separated"),
    ]
    for argv, msg in cases:
        assert main(argv + ["--quiet"]) == 2
        err = capsys.readouterr().err
        assert msg in err and err.count("\n") == 1, err


@pytest.fixture()
def tiny_checkpoint(tmp_path) -> tuple[Path, RealBasicVSRNet]:
    torch.manual_seed(0)
    net = RealBasicVSRNet(mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1).eval()
    path = tmp_path / "tiny.pth"
    torch.save({"state_dict": {"generator_ema." + k: v for k, v in net.state_dict().items()}}, path)
    return path, net


def test_test_paired_layout_scores_the_model_output(tmp_path, tiny_checkpoint, textured_image, capsys):
    ckpt, net = tiny_checkpoint
    gt = [textured_image(128, 128, seed=s) for s in range(3)]
    lq = [f[::4, ::4].copy() for f in gt]
    _clip(tmp_path / "set" / "LQ" / "walk", lq)
    _clip(tmp_path / "set" / "GT" / "walk", gt)
    _clip(tmp_path / "set" / "decoy" / "walk", gt)  # other sub-folders are ignored
    rc = main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "set"), "--layout", "paired", "--gt", "GT",
               "--save", str(tmp_path / "sr"), "--json", str(tmp_path / "t.json"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    saved = [read_image(p) for p in list_frame_files(tmp_path / "sr" / "walk")]
    with torch.no_grad():
        x = torch.from_numpy(np.stack(lq)).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
        y = net(x)[0].clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).numpy()
    # the protocol's upscaling, frame for frame; the engine runs convolutions in channels_last layout, whose
    # float summation order differs by ~1e-6, so a value on a rounding boundary may move by one level
    diff = np.abs(np.stack(saved).astype(int) - y.astype(int))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 1e-4 * diff.size
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["clips"][0]["frames"] == 3
    assert doc["mean"]["psnr"] == pytest.approx(np.mean([psnr(s, g, channel="y") for s, g in zip(saved, gt)]), rel=1e-12)
    assert doc["mean"]["ssim"] == pytest.approx(np.mean([ssim(s, g, channel="y") for s, g in zip(saved, gt)]), rel=1e-12)
    assert "| walk | 3 |" in out
    # then the seed page's layout: Model | Dataset | metrics, one row with the means
    assert out.rstrip().splitlines()[-3:] == [
        "| Model | Dataset | PSNR (Y) | SSIM (Y) |",
        "|:---:|:---:|:---:|:---:|",
        f"| tiny | set | {doc['mean']['psnr']:.4f} | {doc['mean']['ssim']:.4f} |",
    ]


def test_test_in_temporal_chunks_matches_the_streaming_upscaler(tmp_path, tiny_checkpoint, textured_image, capsys):
    from realbasicvsr import load_model
    from realbasicvsr.inference import EngineOptions, Upscaler

    ckpt, _ = tiny_checkpoint
    gt = [textured_image(64, 64, seed=s) for s in range(5)]
    lq = [f[::4, ::4].copy() for f in gt]
    _clip(tmp_path / "set" / "lq" / "c", lq)
    _clip(tmp_path / "set" / "gt" / "c", gt)
    rc = main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "set"), "--layout", "paired",
               "--chunk-frames", "2", "--overlap", "1", "--save", str(tmp_path / "sr"), "--quiet"])
    assert rc == 0
    saved = [read_image(p) for p in list_frame_files(tmp_path / "sr" / "c")]
    up = Upscaler(load_model(ckpt), EngineOptions(device="cpu", precision="fp32", chunk_frames=2, overlap=1))
    expected = [f for chunk in up.stream(lq) for f in chunk.frames]
    assert not np.array_equal(np.stack(expected), np.stack(up(lq)))  # chunking really happened
    np.testing.assert_array_equal(np.stack(saved), np.stack(expected))
    assert main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "set"), "--layout", "paired",
                 "--chunk-frames", "0", "--quiet"]) == 2
    assert "--chunk-frames" in capsys.readouterr().err


@pytest.mark.slow
def test_test_videolq_protocol_frames_0_50_99_on_y(tmp_path, tiny_checkpoint, textured_image, brisque_home,
                                                   nrqm_model_env, capsys):
    ckpt, _ = tiny_checkpoint
    # one 100-frame clip (frame 99 must exist) at the smallest size NIQE accepts after x4 and the 4-px shave
    base = textured_image(28, 28, seed=1)
    _clip(tmp_path / "VideoLQ" / "001", [np.roll(base, i % 7, axis=1) for i in range(100)])
    rc = main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "VideoLQ"), "--save", str(tmp_path / "sr"),
               "--csv", str(tmp_path / "t.csv"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    header = out.splitlines()[0]
    assert header.index("NRQM (Y)") < header.index("NIQE (Y)") < header.index("PI (Y)") < header.index("BRISQUE (Y)")
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert [r.split(",")[:2] for r in rows[1:]] == [["001", "0"], ["001", "50"], ["001", "99"], ["001", "mean"],
                                                    ["mean", "mean"]]
    assert len(list_frame_files(tmp_path / "sr" / "001")) == 100
    sr = read_image(list_frame_files(tmp_path / "sr" / "001")[50])
    vals = dict(zip(rows[0].split(","), rows[2].split(",")))
    assert float(vals["niqe"]) == pytest.approx(niqe(sr, channel="y", crop_border=4), rel=1e-12)
    assert float(vals["brisque"]) == pytest.approx(brisque(sr, channel="y", crop_border=4), rel=1e-12)
    assert float(vals["nrqm"]) == pytest.approx(nrqm(sr, channel="y", crop_border=4), rel=1e-12)
    assert float(vals["pi"]) == pytest.approx(pi(sr), rel=1e-12)


def test_test_fails_fast_on_missing_nrqm_model_and_short_clips(tmp_path, tiny_checkpoint, textured_image,
                                                              brisque_home, monkeypatch, capsys):
    ckpt, _ = tiny_checkpoint
    _clip(tmp_path / "VideoLQ" / "000", [textured_image(32, 32, seed=s) for s in range(3)])
    assert main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "VideoLQ"), "--quiet"]) == 2
    assert "model.mat" in capsys.readouterr().err
    assert main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "VideoLQ"), "--metrics", "niqe",
                 "--quiet", "--save", str(tmp_path / "sr")]) == 2
    assert "has 3 frames; frame 50 does not exist" in capsys.readouterr().err
    assert not (tmp_path / "sr").exists() or not any((tmp_path / "sr").iterdir())
    assert main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "VideoLQ"), "--layout", "paired",
                 "--quiet"]) == 2
    assert "needs a sub-folder named lq" in capsys.readouterr().err
    for sub in ("BIx4", "BDx4", "GT"):
        (tmp_path / "UDM10" / sub).mkdir(parents=True)
    assert main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "UDM10"), "--layout", "paired",
                 "--quiet"]) == 2
    assert "several candidates (BDx4, BIx4); choose with --lq" in capsys.readouterr().err
    assert main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "UDM10"), "--layout", "paired",
                 "--lq", "BIx8", "--quiet"]) == 2
    assert "--lq BIx8: no such folder" in capsys.readouterr().err
    assert main(["test", "--model", str(ckpt), "--dataset", str(tmp_path / "VideoLQ"), "--metrics", "niqe",
                 "--frames", "0", "--device", "bogus", "--quiet"]) == 2
    assert "is not a device" in capsys.readouterr().err


def test_evaluate_nrqm_and_pi_with_an_explicit_model_file(tmp_path, tiny_nrqm_model, textured_image, monkeypatch,
                                                          capsys):
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "empty_home"))
    monkeypatch.delenv(MODEL_ENV, raising=False)
    model = tiny_nrqm_model(seed=11)
    path = save_model(model, tmp_path / "ma.npz")
    img = textured_image(120, 128, seed=9)
    write_image(tmp_path / "shot.png", img)
    rc = main(["evaluate", str(tmp_path / "shot.png"), "--metrics", "nrqm,pi", "--nrqm-model", str(path),
               "--json", str(tmp_path / "s.json"), "--quiet"])
    assert rc == 0
    assert "| shot | 1 |" in capsys.readouterr().out
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["mean"]["nrqm"] == pytest.approx(nrqm(img, model=model), rel=1e-12)
    assert doc["mean"]["pi"] == pytest.approx(pi(img, model=model), rel=1e-12)
    assert doc["metrics"][1] == {"name": "pi", "channel": "y", "crop_border": 4}


def test_evaluate_reference_with_a_different_frame_count_is_an_error(tmp_path, textured_image, capsys):
    frames = [textured_image(32, 32, seed=s) for s in range(3)]
    _clip(tmp_path / "out" / "v", frames)
    _clip(tmp_path / "gt" / "v", frames[:2])
    argv = ["evaluate", str(tmp_path / "out" / "v"), "--ref", str(tmp_path / "gt" / "v"), "--metrics", "psnr", "--quiet"]
    assert main(argv) == 2
    assert "has fewer frames" in capsys.readouterr().err
    _clip(tmp_path / "gt2" / "v", frames + frames[:1])
    assert main(argv[:3] + [str(tmp_path / "gt2" / "v")] + argv[4:]) == 2
    assert "has more frames" in capsys.readouterr().err
    # with --frames only the chosen frames must exist in both
    assert main(argv + ["--frames", "0,1"]) == 0
    assert "| v | 2 | inf |" in capsys.readouterr().out
