"""Output-bias recalibration: the refit bias leaves no mean error on the pairs it was measured on, moves every
output pixel by exactly the shift, and the script writes a loadable generator (CLI end to end)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from .conftest import REPO, SMOKE, smoke_config
from safetensors import safe_open
from safetensors.torch import save_file

from realbasicvsr import load_model
from realbasicvsr.training.data import build_dataset
from realbasicvsr.training.recalibrate import BIAS_KEY, mean_output_error, shift_output


def _pairs(n=3):
    dataset = build_dataset(smoke_config())
    return [(lq, gt) for lq, gt, _ in (dataset[(7, i)] for i in range(n))]


def _generator(seed=0):
    torch.manual_seed(seed)
    model = smoke_config().model.arch.build().eval()
    with torch.no_grad():
        model.basicvsr.conv_last.bias += torch.tensor([0.03, -0.02, 0.01])  # a known brightness error
    return model


def test_refit_bias_leaves_no_mean_error_and_shifts_every_pixel_by_the_same_amount():
    pairs = _pairs()
    model = _generator()
    error = mean_output_error(model, pairs)
    assert error.abs().max() > 0.005  # the planted error shows
    before = model(pairs[0][0][None])
    model.load_state_dict(shift_output(model.state_dict(), error))
    after = model(pairs[0][0][None])
    assert mean_output_error(model, pairs).abs().max() < 1e-5
    torch.testing.assert_close(before - after, error.view(1, 1, 3, 1, 1).expand_as(before), atol=1e-5, rtol=0)


def test_empty_pairs_is_an_error():
    with pytest.raises(ValueError, match="no pairs"):
        mean_output_error(_generator(), [])


def test_script_writes_a_recalibrated_generator_with_its_metadata(tmp_path):
    weights = tmp_path / "g.safetensors"
    model = _generator()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights),
              metadata={"format": "realbasicvsr-generator"})
    out = tmp_path / "g_recal.safetensors"
    cmd = [sys.executable, str(REPO / "scripts" / "recalibrate_bias.py"), str(SMOKE), str(weights), str(out),
           "--samples", "2"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert "mean error (levels of 255)" in res.stdout
    with safe_open(str(out), "pt") as f:
        assert "bias_recalibration" in f.metadata() and f.metadata()["format"] == "realbasicvsr-generator"
        shifted = f.get_tensor(BIAS_KEY)
    assert not torch.equal(shifted, model.basicvsr.conv_last.bias)
    assert isinstance(load_model(str(out)), torch.nn.Module)
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)  # never overwrites
    assert again.returncode == 2 and again.stderr.strip().count("\n") == 0 and "exists" in again.stderr
    none = subprocess.run([*cmd[:-2], "--samples", "0"], capture_output=True, text=True, cwd=REPO)
    assert none.returncode == 2 and none.stderr.strip().count("\n") == 0 and "at least 1" in none.stderr
