"""``realbasicvsr convert``: generator-only .safetensors files, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from realbasicvsr import load_model
from realbasicvsr.cli import main


@pytest.fixture
def released(tmp_path, released_checkpoint) -> tuple[Path, dict]:
    """A released-layout training checkpoint (a full-width discriminator makes it realistically large)."""
    path = tmp_path / "in" / "realbasicvsr_train_iter_150000.pth"
    return path, released_checkpoint(path, mid_channels=8, num_blocks=1, disc_channels=64)


def run_cli(capsys, *argv: str) -> tuple[int, list[str]]:
    rc = main(["convert", *argv])
    return rc, capsys.readouterr().err.splitlines()


def assert_same_outputs(a: Path, b: Path, lq: torch.Tensor) -> None:
    with torch.no_grad():
        assert torch.equal(load_model(a)(lq), load_model(b)(lq))


def test_convert_keeps_the_ema_generator_and_is_small(tmp_path, capsys, released):
    src, written = released
    out = tmp_path / "out" / "model.safetensors"
    rc, err = run_cli(capsys, str(src), str(out))
    assert rc == 0 and len(err) == 1 and str(out) in err[0]
    assert out.stat().st_size < 0.3 * src.stat().st_size
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.safetensors"]

    model = load_model(out)
    for k, v in written["generator_ema"].items():
        assert torch.equal(model.state_dict()[k], v), k
    assert_same_outputs(src, out, torch.rand(1, 2, 3, 10, 12))
    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
    assert meta["format"] == "realbasicvsr-generator"
    assert json.loads(meta["config"]) == dict(mid_channels=8, num_propagation_blocks=1, num_cleaning_blocks=1,
                                              upscale=4, head_channels=64)


def test_convert_golden_checkpoint_gives_identical_outputs(tmp_path, capsys, golden_small_path):
    out = tmp_path / "small.safetensors"
    assert run_cli(capsys, str(golden_small_path), str(out))[0] == 0
    # (no size check here: the golden file stores SPyNet as overlapping windows of one buffer)
    lq = torch.load(golden_small_path, weights_only=True)["lq"][:, :3, :, :24, :32]
    assert_same_outputs(golden_small_path, out, lq)


def test_overwrite_needs_the_flag(tmp_path, capsys, released):
    src, written = released
    out = tmp_path / "model.safetensors"
    assert run_cli(capsys, str(src), str(out))[0] == 0
    before = out.read_bytes()

    rc, err = run_cli(capsys, str(src), str(out), "--no-ema")
    assert rc == 2 and len(err) == 1
    assert err[0].startswith("realbasicvsr convert: error: ") and "--overwrite" in err[0] and str(out) in err[0]
    assert out.read_bytes() == before

    rc, _ = run_cli(capsys, str(src), str(out), "--no-ema", "--overwrite")
    assert rc == 0 and out.read_bytes() != before
    model = load_model(out)
    for k, v in written["generator"].items():
        assert torch.equal(model.state_dict()[k], v), k


def test_errors_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, released):
    src, _ = released
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    not_a_checkpoint = tmp_path / "notes.pth"
    not_a_checkpoint.write_text("not a checkpoint\n")
    cases = [
        ((str(tmp_path / "missing.pth"), str(out_dir / "a.safetensors")), "checkpoint not found"),
        ((str(not_a_checkpoint), str(out_dir / "a.safetensors")), "not a readable PyTorch checkpoint"),
        ((str(src), str(out_dir / "a.pth")), "must end in .safetensors"),
        (("no_such_model", str(out_dir / "a.safetensors")), "unknown model 'no_such_model'"),
    ]
    for argv, expected in cases:
        rc, err = run_cli(capsys, *argv)
        assert rc == 2, argv
        assert len(err) == 1 and expected in err[0], err
        assert list(out_dir.iterdir()) == [], argv


def test_same_file_in_and_out_is_refused(tmp_path, capsys, released):
    src, written = released
    st = tmp_path / "gen.safetensors"
    assert run_cli(capsys, str(src), str(st))[0] == 0
    before = st.read_bytes()
    rc, err = run_cli(capsys, str(st), str(st), "--overwrite")
    assert rc == 2 and len(err) == 1 and "same file" in err[0]
    assert st.read_bytes() == before


def test_python_dash_m_convert(tmp_path, released):
    src, written = released
    out = tmp_path / "cli.safetensors"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "realbasicvsr", "convert", str(src), str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert load_model(out).state_dict()["basicvsr.conv_last.bias"].equal(
        written["generator_ema"]["basicvsr.conv_last.bias"])

    proc = subprocess.run([sys.executable, "-m", "realbasicvsr", "convert", str(src), str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--overwrite" in proc.stderr
    assert proc.stdout == ""


def test_fp16_halves_the_file_and_stays_close(tmp_path, capsys, released):
    src, written = released
    full, half = tmp_path / "full.safetensors", tmp_path / "half.safetensors"
    assert run_cli(capsys, str(src), str(full))[0] == 0
    assert run_cli(capsys, str(src), str(half), "--fp16")[0] == 0
    assert 0.45 < half.stat().st_size / full.stat().st_size < 0.55
    with safe_open(str(half), "pt") as f:
        assert all(f.get_tensor(k).dtype == torch.float16 for k in f.keys())
    model = load_model(half)
    assert next(model.parameters()).dtype == torch.float32  # loads back as fp32
    for k, v in written["generator_ema"].items():
        assert torch.allclose(model.state_dict()[k], v, rtol=1e-3, atol=1e-4), k


def test_convert_sets_and_removes_the_output_sharpening(tmp_path, capsys, released):
    src, _ = released
    sharp, plain = tmp_path / "sharp.safetensors", tmp_path / "plain.safetensors"
    assert run_cli(capsys, str(src), str(sharp), "--sharpen", "1.75", "--fp16")[0] == 0
    with safe_open(str(sharp), "pt") as f:
        assert f.get_tensor("basicvsr.output_sharpen").dtype == torch.float32  # not rounded to fp16
        assert json.loads(f.metadata()["config"])["output_sharpen"] == 1.75
    model = load_model(sharp)
    assert float(model.basicvsr.output_sharpen) == 1.75
    assert run_cli(capsys, str(sharp), str(plain), "--sharpen", "0")[0] == 0
    assert load_model(plain).basicvsr.output_sharpen is None
    lq = torch.rand(1, 2, 3, 10, 12)
    with torch.no_grad():
        assert (load_model(sharp)(lq) - load_model(plain)(lq)).abs().max() > 1e-3
    rc, err = run_cli(capsys, str(src), str(tmp_path / "bad.safetensors"), "--sharpen", "-1")
    assert rc != 0 and len(err) == 1 and ">= 0" in err[0] and not (tmp_path / "bad.safetensors").exists()
