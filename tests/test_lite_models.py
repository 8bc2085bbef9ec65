"""The lite models shipped inside the package: offline loading by name, sane outputs, the FLOP bound, the
README's main job with no network, and that the bundled weights are trained (they beat bicubic)."""

from __future__ import annotations

import socket
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
import torch.nn.functional as F
from testdata import require_calibration_dir

from realbasicvsr import RealBasicVSRError, load_model
from realbasicvsr.cli import main
from realbasicvsr.hub import MODEL_ZOO, WEIGHTS_DIR
from realbasicvsr.models import ArchConfig
from realbasicvsr.cost import gflops_per_frame

LITE = ("realbasicvsr_lite_x4", "realbasicvsr_lite_x2")
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample.mp4"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network (every connection attempt is refused, as on an air-gapped machine) and an empty cache."""

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("REALBASICVSR_HOME", str(tmp_path / "empty_cache"))
    monkeypatch.delenv("REALBASICVSR_MIRROR", raising=False)


def test_the_offline_fixture_blocks_downloads(offline):
    with pytest.raises(RealBasicVSRError, match="realbasicvsr_lite_x4"):
        load_model("realbasicvsr_x4", progress=False)  # the error names the offline way out


def test_upscale_offline_with_the_default_model_names_the_way_out(offline, tmp_path, capsys):
    out = tmp_path / "o.mp4"
    assert main(["upscale", str(SAMPLE), "-o", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'realbasicvsr_x4' (the default model) needs a download" in err
    assert "--model realbasicvsr_lite_x4" in err and "--model PATH" in err and "REALBASICVSR_MIRROR" in err
    assert not out.exists()


@pytest.mark.parametrize("name", LITE)
def test_lite_models_load_by_name_offline_and_give_finite_outputs(offline, name):
    model = load_model(name)
    scale = MODEL_ZOO[name].config.upscale
    assert model.upscale == scale and model.mid_channels == MODEL_ZOO[name].config.mid_channels
    torch.manual_seed(0)
    lq = torch.rand(1, 5, 3, 36, 44)
    with torch.inference_mode():
        out = model(lq)
    assert out.shape == (1, 5, 3, 36 * scale, 44 * scale)
    assert torch.isfinite(out).all()
    # a restoration of the input, not noise: close to its bilinear upscale on average
    up = F.interpolate(lq.flatten(0, 1), scale_factor=scale, mode="bilinear", align_corners=False)
    assert (out.flatten(0, 1) - up).abs().mean() < 0.15


def test_lite_flops_are_at_least_4x_below_c64b20_and_files_are_small():
    c64 = gflops_per_frame(ArchConfig(), 180, 320, 10)
    total_bytes = 0
    for name in LITE:
        entry = MODEL_ZOO[name]
        lite = gflops_per_frame(entry.config, 180, 320, 10)
        assert lite * 4 <= c64, (name, lite, c64)
        total_bytes += (WEIGHTS_DIR / entry.bundled).stat().st_size
    assert total_bytes < 10 * 2**20


@pytest.mark.parametrize("name", LITE)
def test_lite_flop_count_matches_the_modules(name):
    """The analytic count used above equals the convolution FLOPs the model actually runs (counted with
    autograd on, where every conv is a plain aten convolution and the head runs on whole frames); lite x2's
    head is lite x4's, averaged down."""
    model = load_model(name)
    with torch.enable_grad(), FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 4, 3, 64, 96))
    convs = sum(n for op, n in counter.get_flop_counts()["Global"].items() if "convolution" in str(op))
    expected = gflops_per_frame(MODEL_ZOO[name].config, 64, 96, 4) * 4 * 1e9
    assert convs == pytest.approx(expected, rel=0.01)


def _degraded_pans(scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """12-frame pans over the three calibration photos (external data, see tests/testdata.py; never trained
    on), degraded by the package's pipeline with fixed seeds: [(lq uint8 frames, gt uint8 frames)]."""
    from realbasicvsr.degradations import DegradationConfig, DegradationPipeline
    from realbasicvsr.io import read_image
    from realbasicvsr.data import PanSequence

    config = DegradationConfig(scale=scale).replace({"unsharp": {"enabled": False}})
    pans = []
    for k, path in enumerate(sorted((require_calibration_dir() / "ref_dir").glob("*.bmp"))):
        gt = PanSequence(read_image(path), seed=k, size=128, num_frames=12).read(range(12))
        lq, _ = DegradationPipeline(config)(gt.astype(np.float32) / 255, np.random.default_rng([3, scale, k]))
        pans.append(((lq * 255).round().astype(np.uint8), gt))
    assert len(pans) == 3
    return pans


def _gain_over_bicubic(model, scale: int) -> float:
    from realbasicvsr.metrics import psnr

    def to8(t):
        return (t.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()

    gains = []
    for lq, gt in _degraded_pans(scale):
        x = torch.from_numpy(lq).permute(0, 3, 1, 2).float().div(255)
        with torch.inference_mode():
            sr = model(x[None])[0]
        bic = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
        gains += [psnr(s, g, channel="y") - psnr(b, g, channel="y") for s, b, g in zip(to8(sr), to8(bic), gt)]
    return float(np.mean(gains))


@pytest.mark.parametrize("name", LITE)
def test_bundled_weights_are_trained_they_beat_bicubic(offline, name):
    """Measured with the shipped weights (the real-world fine-tune of 2026-12-07): +0.53 dB (x4) and +0.52 dB
    (x2) over bicubic on these pans; the weights it replaced: +0.06 and +0.31; the same network untrained is
    far below."""

    scale = MODEL_ZOO[name].config.upscale
    gain = _gain_over_bicubic(load_model(name), scale)
    assert gain > 0.3, gain
    torch.manual_seed(0)
    untrained = MODEL_ZOO[name].config.build().eval()
    assert _gain_over_bicubic(untrained, scale) < gain - 1.0


@pytest.mark.slow
def test_readme_main_job_runs_offline_with_the_lite_model(offline, tmp_path):
    """`realbasicvsr upscale assets/sample.mp4 -o sample_x4.mp4 --model realbasicvsr_lite_x4` with no
    network: 24 frames of 640x480 with the sample's audio."""
    out = tmp_path / "sample_x4.mp4"
    assert main(["upscale", str(SAMPLE), "-o", str(out), "--model", "realbasicvsr_lite_x4", "--no-progress"]) == 0
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (640, 480)
        assert len(c.streams.audio) == 1
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 24 and all(np.isfinite(f).all() and f.std() > 5 for f in frames)
