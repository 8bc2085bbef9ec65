"""Precision: ``auto`` picks bf16 only on CPUs that compute it natively, stays >= 50 dB from fp32, and a
window that overflows in reduced precision is computed again in fp32 instead of writing a broken frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from upscale_media import SMALL_WEIGHTS, frame, psnr

from realbasicvsr import load_model
from realbasicvsr.inference import EngineOptions, Upscaler
from realbasicvsr.device import auto_precision, cpu_has_native_bf16


def test_auto_is_bf16_exactly_where_the_cpu_has_native_bf16():
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags |= set(line.split(":", 1)[1].split())
    native = bool(flags & {"avx512_bf16", "amx_bf16"})
    assert cpu_has_native_bf16() == native
    assert auto_precision(torch.device("cpu")) == ("bf16" if native else "fp32")
    assert auto_precision(torch.device("cuda")) == "fp16"
    assert auto_precision(torch.device("mps")) == "fp32"


@pytest.mark.parametrize("model", [str(SMALL_WEIGHTS), "realbasicvsr_lite_x4", "realbasicvsr_lite_x2"])
def test_bf16_is_within_50_db_of_fp32(model):
    """Measured on 4 frames of 48x64: 56.2 dB (golden weights), 58.8 dB (lite x4), 59.9 dB (lite x2); on 10 frames
    of 96x128 (5x the time where bf16 is emulated): 56.0, 56.1 and 56.3 dB."""
    net = load_model(model)
    frames = [frame(i, 48, 64) for i in range(4)]
    ref = np.stack(Upscaler(net, EngineOptions(device="cpu", precision="fp32"))(frames))
    out = np.stack(Upscaler(net, EngineOptions(device="cpu", precision="bf16"))(frames))
    assert 50.0 <= psnr(out, ref) < 80.0  # close, and really computed in bf16


def test_a_non_finite_window_is_computed_again_in_fp32(capsys):
    net = load_model(SMALL_WEIGHTS)
    frames = [frame(i, 24, 32) for i in range(4)]
    ref = Upscaler(net, EngineOptions(device="cpu", precision="fp32"))(frames)
    forward_window = net.forward_window

    def overflowing(*args, **kwargs):  # what an fp16/bf16 overflow does: inf, then NaN downstream
        out, state = forward_window(*args, **kwargs)
        if torch.is_autocast_enabled("cpu"):
            out = out.clone()
            out[0, 1, :, :4, :4] = float("nan")
        return out, state

    net.forward_window = overflowing
    got = Upscaler(net, EngineOptions(device="cpu", precision="bf16"))(frames)
    assert "bf16 gave non-finite values in a window of 4 frames; computed it again in fp32" in capsys.readouterr().err
    assert all(np.array_equal(a, b) for a, b in zip(got, ref))
    Upscaler(net, EngineOptions(device="cpu", precision="fp32"))(frames)
    assert capsys.readouterr().err == ""  # fp32 is never re-run


def test_a_window_after_a_reduced_precision_one_can_fall_back_to_fp32(capsys):
    """The second window overflows; the state carried into it from the first (bf16) window still works
    in the fp32 re-run, and the stream goes on."""
    net = load_model(SMALL_WEIGHTS)
    forward_window = net.forward_window
    calls = []

    def second_overflows(*args, **kwargs):
        out, state = forward_window(*args, **kwargs)
        if torch.is_autocast_enabled("cpu"):
            calls.append(1)
            if len(calls) == 2:
                out = out.clone()
                out[0, 0, :, :2, :2] = float("inf")
        return out, state

    net.forward_window = second_overflows
    up = Upscaler(net, EngineOptions(device="cpu", precision="bf16", chunk_frames=3, overlap=1))
    chunks = list(up.stream([frame(i, 24, 32) for i in range(9)]))
    assert [c.start for c in chunks] == [0, 3, 6] and sum(len(c.frames) for c in chunks) == 9
    assert capsys.readouterr().err.count("computed it again in fp32") == 1
