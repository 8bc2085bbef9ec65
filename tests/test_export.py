"""ONNX export: the graph computes what PyTorch computes (golden small weights), end to end from the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from realbasicvsr import load_model
from realbasicvsr.cli import main

ort = pytest.importorskip("onnxruntime")


def test_exported_graph_matches_pytorch_and_refuses_other_shapes(tmp_path, golden_small_path, capsys):
    out = tmp_path / "small.onnx"
    assert main(["export", "onnx", str(golden_small_path), str(out), "--frames", "5", "--size", "32x48"]) == 0
    assert "input lqs (1, 5, 3, 32, 48)" in capsys.readouterr().err
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    model = load_model(golden_small_path)
    x = torch.rand(1, 5, 3, 32, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(x).numpy()
    got = sess.run(["sr"], {"lqs": x.numpy()})[0]
    assert got.shape == ref.shape == (1, 5, 3, 128, 192)
    assert np.abs(got - ref).max() <= 1e-4
    with pytest.raises(Exception, match="(?i)dimension|shape"):  # a fixed shape, by design
        sess.run(["sr"], {"lqs": np.zeros((1, 5, 3, 40, 48), np.float32)})


def test_export_refuses_bad_requests_in_one_line(tmp_path, golden_small_path, capsys):
    assert main(["export", "onnx", str(golden_small_path), str(tmp_path / "m.pt")]) == 2
    assert ".onnx" in capsys.readouterr().err
    assert main(["export", "onnx", str(golden_small_path), str(tmp_path / "m.onnx"), "--size", "big"]) == 2
    assert "HxW" in capsys.readouterr().err
    (tmp_path / "old.onnx").write_bytes(b"keep me")
    assert main(["export", "onnx", str(golden_small_path), str(tmp_path / "old.onnx")]) == 2
    assert (tmp_path / "old.onnx").read_bytes() == b"keep me"


def test_a_supersampled_x2_model_exports_with_its_averaging(tmp_path, capsys):
    from safetensors.torch import save_file

    from realbasicvsr.models import RealBasicVSRNet

    torch.manual_seed(3)
    save_file(RealBasicVSRNet(8, 1, 1, upscale=2, head_channels=8, supersample=2).state_dict(),
              str(tmp_path / "ss.safetensors"))
    out = tmp_path / "ss.onnx"
    assert main(["export", "onnx", str(tmp_path / "ss.safetensors"), str(out), "--frames", "3", "--size", "16x24"]) == 0
    x = torch.rand(1, 3, 3, 16, 24, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = load_model(tmp_path / "ss.safetensors")(x).numpy()
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(["sr"], {"lqs": x.numpy()})[0]
    assert got.shape == ref.shape == (1, 3, 3, 32, 48) and np.abs(got - ref).max() <= 1e-4
