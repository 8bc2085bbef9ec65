"""The networks against the reference's golden tensors, plus the behaviours the golden files can't show."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from testdata import GOLDEN_DIR

from realbasicvsr import load_model
from realbasicvsr.device import cpu_has_native_bf16
from realbasicvsr.inference import engine
from realbasicvsr.models import blocks
from realbasicvsr.models import (
    BasicVSRNet,
    ForwardState,
    PixelShufflePack,
    RealBasicVSRNet,
    ResidualBlocksWithInputConv,
    SPyNet,
    UNetDiscriminatorWithSpectralNorm,
    flow_warp,
)

ATOL = 1e-5  # the golden README's suggested tolerance for outputs, cleaned LQs, flows and flow_warp


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a - b).abs().max().item()


@pytest.fixture(scope="module")
def golden(golden_small_path: Path) -> dict:
    return torch.load(golden_small_path, weights_only=True)


@pytest.fixture(scope="module")
def disc_golden() -> dict:
    return torch.load(GOLDEN_DIR / "unet_disc.pt", weights_only=True)


@pytest.fixture(scope="module")
def model(golden_small_path: Path) -> RealBasicVSRNet:
    return load_model(golden_small_path)


@pytest.fixture(scope="module")
def generator_sd(golden: dict) -> dict[str, torch.Tensor]:
    prefix = "generator_ema."
    return {k[len(prefix):]: v for k, v in golden["state_dict"].items() if k.startswith(prefix)}


def module_kwargs(config: dict, **overrides) -> dict:
    """The golden constructor kwargs for RealBasicVSRNet (no SPyNet file is involved: it is None)."""
    assert config["spynet_pretrained"] is None
    kwargs = {k: v for k, v in config.items() if k != "spynet_pretrained"}
    kwargs.update(overrides)
    return kwargs


# --- RealBasicVSRNet against realbasicvsr_small.pt ---------------------------------------------------


def test_load_model_reproduces_output_and_cleaned_lqs(model, golden):
    lq = golden["lq"]
    lq_before = lq.clone()
    assert not model.training
    with torch.no_grad():
        out, lqs = model(lq, return_lqs=True)
        out_plain = model(lq)
    assert max_diff(out, golden["output"]) < ATOL
    assert max_diff(lqs, golden["return_lqs_output"]) < ATOL
    assert torch.equal(out_plain, out)
    assert torch.equal(lq, lq_before), "forward modified the caller's tensor"


def test_public_module_with_golden_config_matches_load_model(model, golden, generator_sd):
    net = RealBasicVSRNet(**module_kwargs(golden["config"]))
    net.load_state_dict(generator_sd, strict=True)
    net.eval()
    with torch.no_grad():
        out = net(golden["lq"])
    assert max_diff(out, golden["output"]) < ATOL
    for k, v in model.state_dict().items():
        assert torch.equal(v, net.state_dict()[k]), k


def test_cleaning_passes_and_residue_means(model, golden):
    with torch.no_grad():
        lqs, passes = model.clean(golden["lq"])
    assert passes == golden["num_cleaning_passes"] == 1
    assert max_diff(lqs, golden["return_lqs_output"]) < ATOL
    # The per-pass mean |residue| the threshold is compared with, if all three passes run.
    lqs = golden["lq"].flatten(0, 1)
    means = []
    with torch.no_grad():
        for _ in range(3):
            res = model.image_cleaning(lqs)
            lqs = lqs + res
            means.append(res.abs().mean().item())
    assert means == pytest.approx(golden["cleaning_residue_means"], abs=1e-6)


@pytest.mark.parametrize("index", [0, 1])
def test_threshold_variants(golden_small_path, golden, index):
    variant = golden["variants"][index]
    thres = variant["config"]["dynamic_refine_thres"]
    net = load_model(golden_small_path, dynamic_refine_thres=thres)
    with torch.no_grad():
        lqs, passes = net.clean(golden["lq"])
        out, lqs_fwd = net(golden["lq"], return_lqs=True)
    assert passes == variant["num_cleaning_passes"] == 2 + index
    assert max_diff(lqs, variant["return_lqs_output"]) < ATOL
    assert torch.equal(lqs_fwd, lqs)
    assert max_diff(out[..., ::4, ::4], variant["output_sub4"]) < ATOL
    sums = out.double().sum(dim=(0, 2, 3, 4))
    assert torch.allclose(sums, variant["output_frame_sums"].double(), rtol=1e-6, atol=0)


def test_flows(model, golden):
    with torch.no_grad():
        flows_forward, flows_backward = model.basicvsr.compute_flow(golden["return_lqs_output"])
    assert max_diff(flows_forward, golden["flows_forward"]) < ATOL
    assert max_diff(flows_backward, golden["flows_backward"]) < ATOL


@pytest.mark.parametrize("suffix", ["", "_odd"])
def test_spynet_pairs(model, golden, suffix):
    g = golden["spynet_flow"]
    spynet = SPyNet()
    spynet.load_state_dict(model.basicvsr.spynet.state_dict())
    with torch.no_grad():
        flow = spynet(g["ref" + suffix], g["supp" + suffix])
    assert max_diff(flow, g["flow" + suffix]) < ATOL
    if suffix:
        assert flow.shape[-2:] == (37, 53)  # resized up to 64x64 inside and back, flow rescaled


@pytest.mark.parametrize("padding", ["zeros", "border"])
def test_flow_warp_paddings(golden, padding):
    g = golden["flow_warp"]
    out = flow_warp(g["x"], g["flow"], **g[f"kwargs_{padding}"])
    assert max_diff(out, g[f"output_{padding}"]) < ATOL
    if padding == "zeros":  # the defaults are the propagation settings
        assert torch.equal(flow_warp(g["x"], g["flow"]), out)


def test_flow_warp_identity_and_size_mismatch():
    x = torch.rand(2, 3, 5, 7)
    assert max_diff(flow_warp(x, torch.zeros(2, 5, 7, 2)), x) < 1e-6
    with pytest.raises(ValueError, match="spatial sizes differ"):
        flow_warp(x, torch.zeros(2, 4, 7, 2))


# --- behaviours beyond the golden data ---------------------------------------------------------------


def test_sequential_cleaning_matches_batched_and_leaves_input_alone(golden, generator_sd):
    lq = golden["lq"]
    lq_before = lq.clone()
    outs = {}
    for sequential in (False, True):
        net = RealBasicVSRNet(**module_kwargs(golden["config"], is_sequential_cleaning=sequential,
                                              dynamic_refine_thres=0.0))
        net.load_state_dict(generator_sd)
        net.eval()
        with torch.no_grad():
            outs[sequential] = net(lq[:, :3], return_lqs=True)
            assert net.clean(lq[:, :3])[1] == 3
        assert torch.equal(lq, lq_before), f"is_sequential_cleaning={sequential} modified the input"
    assert max_diff(outs[True][0], outs[False][0]) < ATOL
    assert max_diff(outs[True][1], outs[False][1]) < ATOL


def test_cleaning_in_groups_of_frames_gives_the_same_numbers(model, golden, monkeypatch):
    lq = torch.cat([golden["lq"], golden["lq"].flip(1)])  # (2, 5, ...): 10 frames, so groups of 3 leave one over
    h, w = lq.shape[-2:]
    calls = []
    hook = model.image_cleaning.register_forward_pre_hook(lambda module, args: calls.append(len(args[0])))
    with torch.inference_mode():
        monkeypatch.setattr(model, "clean_batch_pixels", None)
        whole, _ = model.clean(lq)
        assert calls == [10]
        calls.clear()
        monkeypatch.setattr(model, "clean_batch_pixels", 3 * h * w + 5)
        grouped, _ = model.clean(lq)
    hook.remove()
    assert calls == [3, 3, 3, 1]
    assert max_diff(grouped, whole) <= 1e-6


@pytest.mark.parametrize("shape", [(1, 2, 3, 17, 23), (1, 1, 3, 17, 23), (2, 2, 3, 1, 5), (1, 3, 3, 33, 8)])
def test_any_frame_size_and_length(model, shape):
    torch.manual_seed(0)
    lq = torch.rand(shape)
    with torch.no_grad():
        out, lqs = model(lq, return_lqs=True)
    n, t, c, h, w = shape
    assert out.shape == (n, t, c, 4 * h, 4 * w)
    assert lqs.shape == shape
    assert torch.isfinite(out).all()
    if t == 1:  # no neighbours: both flows are empty
        flows_forward, flows_backward = model.basicvsr.compute_flow(lqs)
        assert flows_forward.shape == flows_backward.shape == (n, 0, 2, h, w)


def test_batch_items_are_independent(model):
    torch.manual_seed(1)
    lq = torch.rand(2, 3, 3, 12, 16)
    net = RealBasicVSRNet(16, 2, 2, dynamic_refine_thres=255)
    net.load_state_dict(model.state_dict())
    net.eval()
    with torch.no_grad():
        both = net(lq)
        first = net(lq[:1])
    assert max_diff(both[:1], first) < ATOL


def test_rejects_wrong_input_layout(model):
    with pytest.raises(ValueError, match=r"\(N, T, 3, H, W\)"):
        model(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, T, 3, H, W\)"):
        model(torch.rand(1, 2, 1, 8, 8))


def test_spynet_frozen_but_gradients_flow_through_it(golden_small_path):
    net = load_model(golden_small_path).train()
    spynet = net.basicvsr.spynet
    assert all(not p.requires_grad for p in spynet.parameters())
    assert all(p.requires_grad for n, p in net.named_parameters() if not n.startswith("basicvsr.spynet."))

    torch.manual_seed(0)
    ref = torch.rand(1, 3, 16, 24, requires_grad=True)
    supp = torch.rand(1, 3, 16, 24, requires_grad=True)
    spynet(ref, supp).square().sum().backward()
    assert ref.grad is not None and ref.grad.abs().sum() > 0
    assert supp.grad is not None and supp.grad.abs().sum() > 0
    assert all(p.grad is None for p in spynet.parameters())

    lq = torch.rand(1, 2, 3, 12, 16, requires_grad=True)
    net(lq).mean().backward()
    assert lq.grad is not None and lq.grad.abs().sum() > 0
    assert all(p.grad is None for p in spynet.parameters())
    assert net.image_cleaning[0].main[0].weight.grad.abs().sum() > 0


def test_flow_gradient_off_cuts_the_flow_out_of_the_graph(golden_small_path):
    net = load_model(golden_small_path).train()
    lq = torch.rand(1, 3, 3, 12, 16, requires_grad=True)
    fwd, bwd = net.basicvsr.compute_flow(lq)
    assert fwd.requires_grad and bwd.requires_grad  # the reference: gradients flow through SPyNet
    net.basicvsr.flow_gradient = False
    fwd_off, bwd_off = net.basicvsr.compute_flow(lq)
    assert not fwd_off.requires_grad and not bwd_off.requires_grad
    assert torch.equal(fwd_off, fwd.detach()) and torch.equal(bwd_off, bwd.detach())  # same values
    net(lq).mean().backward()  # the rest of the network still trains
    assert lq.grad is not None and net.image_cleaning[0].main[0].weight.grad.abs().sum() > 0


def test_flow_scale_upsamples_the_flow_and_rescales_its_vectors(model, golden):
    half = torch.tensor([1.0, -2.0]).view(1, 2, 1, 1).expand(3, 2, 5, 7)  # (dx, dy) on a 5x7 grid
    full = BasicVSRNet._full_size(half, 10, 21)
    assert full.shape == (3, 2, 10, 21)
    assert torch.allclose(full[:, 0], torch.full_like(full[:, 0], 3.0))  # x: 21/7 times longer
    assert torch.allclose(full[:, 1], torch.full_like(full[:, 1], -4.0))  # y: 10/5 times longer
    lqs = golden["return_lqs_output"]
    try:
        model.basicvsr.flow_scale = 0.5
        with torch.no_grad():
            fwd, bwd = model.basicvsr.compute_flow(lqs)
    finally:
        model.basicvsr.flow_scale = 1.0
    assert fwd.shape == bwd.shape == golden["flows_forward"].shape
    assert max_diff(fwd, golden["flows_forward"]) > ATOL  # really computed at half size


def test_fix_cleaning_freezes_cleaning_module(golden, generator_sd):
    net = RealBasicVSRNet(**module_kwargs(golden["config"], is_fix_cleaning=True))
    net.load_state_dict(generator_sd)
    assert all(not p.requires_grad for p in net.image_cleaning.parameters())
    assert net.basicvsr.fusion.weight.requires_grad
    lq = golden["lq"][:, :2, :, :16, :16]
    net.train()
    net(lq).mean().backward()
    assert all(p.grad is None for p in net.image_cleaning.parameters())
    assert net.basicvsr.fusion.weight.grad.abs().sum() > 0
    net.eval()
    with torch.no_grad():  # frozen, but it still cleans: same result as the trainable module
        free = RealBasicVSRNet(**module_kwargs(golden["config"]))
        free.load_state_dict(generator_sd)
        assert torch.equal(net(lq, return_lqs=True)[1], free.eval()(lq, return_lqs=True)[1])


def test_spynet_has_imagenet_normalisation_buffers():
    spynet = SPyNet()
    assert torch.equal(spynet.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))
    assert torch.equal(spynet.std.flatten(), torch.tensor([0.229, 0.224, 0.225]))
    assert {n for n, _ in spynet.named_buffers()} == {"mean", "std"}


# --- sizes of the released c64b20 configuration ------------------------------------------------------


def numel(sd: dict[str, torch.Tensor], prefix: str = "") -> int:
    return sum(v.numel() for k, v in sd.items() if k.startswith(prefix))


def test_c64b20_generator_sizes():
    net = RealBasicVSRNet()
    sd = net.state_dict()
    assert len(sd) == 320
    assert sum(p.numel() for p in net.parameters()) == 6_294_834
    assert numel(sd) == 6_294_834 + 6  # + SPyNet's mean/std buffers
    expected = {  # state-dict values per module (SPyNet's count includes its 6 buffer values)
        "image_cleaning.": 1_480_643,
        "basicvsr.spynet.": 1_440_306,
        "basicvsr.backward_resblocks.": 1_515_776,
        "basicvsr.forward_resblocks.": 1_515_776,
        "basicvsr.fusion.": 8_256,
        "basicvsr.upsample1.": 147_712,
        "basicvsr.upsample2.": 147_712,
        "basicvsr.conv_hr.": 36_928,
        "basicvsr.conv_last.": 1_731,
    }
    for prefix, count in expected.items():
        assert numel(sd, prefix) == count, prefix
    assert sum(expected.values()) == numel(sd)
    # The building blocks on their own have the same sizes.
    assert numel(BasicVSRNet(64, 20).state_dict()) == numel(sd, "basicvsr.")
    assert numel(ResidualBlocksWithInputConv(67, 64, 20).state_dict()) == 1_515_776
    assert numel(PixelShufflePack(64, 64, 2, 3).state_dict()) == 147_712


def test_c64_discriminator_keys_shapes_and_parameters(disc_golden):
    disc = UNetDiscriminatorWithSpectralNorm(**disc_golden["c64_config"])
    shapes = {k: list(v.shape) for k, v in disc.state_dict().items()}
    assert shapes == {k: list(v) for k, v in disc_golden["c64_state_dict_shapes"].items()}
    assert list(shapes) == list(disc_golden["c64_state_dict_shapes"])  # same order
    assert len(shapes) == 28
    assert sum(p.numel() for p in disc.parameters()) == 4_376_897


# --- U-Net discriminator against unet_disc.pt --------------------------------------------------------


def fresh_disc(disc_golden: dict) -> UNetDiscriminatorWithSpectralNorm:
    prefix = "discriminator."
    disc = UNetDiscriminatorWithSpectralNorm(**disc_golden["config"])
    disc.load_state_dict({k[len(prefix):]: v for k, v in disc_golden["state_dict"].items()}, strict=True)
    return disc


def uv_buffers(disc: UNetDiscriminatorWithSpectralNorm) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in disc.state_dict().items() if k.endswith(("weight_u", "weight_v"))}


def test_discriminator_eval_output_is_stable(disc_golden):
    disc = fresh_disc(disc_golden).eval()
    before = uv_buffers(disc)
    with torch.no_grad():
        first = disc(disc_golden["input"])
        second = disc(disc_golden["input"])
    assert first.shape == (1, 1, 64, 64)
    assert max_diff(first, disc_golden["output_eval"]) < ATOL
    assert torch.equal(first, second)
    after = uv_buffers(disc)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_discriminator_train_output_and_power_iteration(disc_golden):
    disc = fresh_disc(disc_golden).train()
    before = uv_buffers(disc)
    out = disc(disc_golden["input"])
    assert max_diff(out, disc_golden["output_train"]) < ATOL
    after = uv_buffers(disc)
    expected = disc_golden["uv_after_train_forward"]
    assert set(after) == set(expected) and len(after) == 16
    for k, v in expected.items():
        assert max_diff(after[k], v) < ATOL, k
    assert any(not torch.equal(before[k], after[k]) for k in before), "train forward did no power iteration"
    out.mean().backward()  # trainable end to end
    assert disc.conv_1.weight_orig.grad is not None


# --- x2 and x1 heads, configurable head width ---------------------------------------------------------


@pytest.mark.parametrize("upscale", [4, 2, 1])
@pytest.mark.parametrize("head", [64, 16])
def test_upscale_factors_shapes_and_head_keys(upscale, head):
    torch.manual_seed(0)
    net = RealBasicVSRNet(8, 1, 1, upscale=upscale, head_channels=head).eval()
    assert net.upscale == net.basicvsr.upscale == upscale
    lq = torch.rand(2, 3, 3, 9, 14)
    with torch.no_grad():
        out, lqs = net(lq, return_lqs=True)
    assert out.shape == (2, 3, 3, upscale * 9, upscale * 14) and lqs.shape == lq.shape
    weights = {k: tuple(v.shape) for k, v in net.state_dict().items()
               if k.startswith(("basicvsr.upsample", "basicvsr.conv_hr", "basicvsr.conv_last")) and k.endswith("weight")}
    expected = {
        4: {"basicvsr.upsample1.upsample_conv.weight": (4 * 8, 8, 3, 3),
            "basicvsr.upsample2.upsample_conv.weight": (4 * head, 8, 3, 3),
            "basicvsr.conv_hr.weight": (head, head, 3, 3)},
        2: {"basicvsr.upsample1.upsample_conv.weight": (4 * head, 8, 3, 3),
            "basicvsr.conv_hr.weight": (head, head, 3, 3)},
        1: {"basicvsr.conv_hr.weight": (head, 8, 3, 3)},  # x1: conv_hr takes the fused features (C -> head)
    }[upscale]
    assert weights == expected | {"basicvsr.conv_last.weight": (3, head, 3, 3)}


@pytest.mark.parametrize("upscale", [2, 1])
def test_upscale_head_adds_the_bilinear_base_of_the_cleaned_frames(upscale):
    """With conv_last zeroed the output is exactly the base: bilinear x2 of the cleaned LQ, or (x1) the LQ itself."""
    torch.manual_seed(0)
    net = RealBasicVSRNet(8, 1, 1, upscale=upscale, head_channels=8).eval()
    with torch.no_grad():
        net.basicvsr.conv_last.weight.zero_()
        net.basicvsr.conv_last.bias.zero_()
        out, lqs = net(torch.rand(1, 2, 3, 10, 12), return_lqs=True)
    base = lqs if upscale == 1 else torch.nn.functional.interpolate(
        lqs.flatten(0, 1), scale_factor=2, mode="bilinear", align_corners=False).unflatten(0, (1, 2))
    assert torch.equal(out, base)


def test_x4_default_keeps_the_reference_keys_and_head_width():
    ref = RealBasicVSRNet(16, 2, 2).state_dict()
    same = RealBasicVSRNet(16, 2, 2, upscale=4, head_channels=64).state_dict()
    assert list(ref) == list(same) and all(ref[k].shape == same[k].shape for k in ref)
    compact = RealBasicVSRNet(16, 2, 2, head_channels=32).state_dict()
    assert list(compact) == list(ref)
    assert [k for k in ref if ref[k].shape != compact[k].shape] == [
        "basicvsr.upsample2.upsample_conv.weight", "basicvsr.upsample2.upsample_conv.bias",
        "basicvsr.conv_hr.weight", "basicvsr.conv_hr.bias", "basicvsr.conv_last.weight",
    ]
    assert len(RealBasicVSRNet(upscale=4).state_dict()) == 320
    assert BasicVSRNet(8, 1).upscale == 4


@pytest.mark.parametrize("bad", [3, 8, 0, -4, 2.0, True])
def test_other_upscale_factors_are_rejected(bad):
    with pytest.raises(ValueError, match="upscale must be 4, 2 or 1"):
        RealBasicVSRNet(8, 1, 1, upscale=bad)
    with pytest.raises(ValueError, match="upscale must be 4, 2 or 1"):
        BasicVSRNet(8, 1, upscale=bad)
    with pytest.raises(ValueError, match="head_channels must be >= 1"):
        BasicVSRNet(8, 1, head_channels=0)


@pytest.mark.parametrize("upscale,supersample", [(2, 2), (1, 4), (1, 2)])
def test_supersampled_head_is_the_larger_head_averaged_down(upscale, supersample):
    """An x``upscale`` model with ``supersample`` has the x``upscale * supersample`` model's tensors (plus the
    factor) and outputs that model's frames averaged over supersample x supersample blocks."""
    torch.manual_seed(0)
    big = RealBasicVSRNet(8, 1, 1, upscale=upscale * supersample, head_channels=6).eval()
    net = RealBasicVSRNet(8, 1, 1, upscale=upscale, head_channels=6, supersample=supersample).eval()
    sd = net.state_dict()
    assert set(sd) == set(big.state_dict()) | {"basicvsr.supersample"}
    assert float(sd["basicvsr.supersample"]) == supersample
    net.load_state_dict({**big.state_dict(), "basicvsr.supersample": sd["basicvsr.supersample"]})
    assert net.upscale == net.basicvsr.upscale == upscale and net.basicvsr.head_scale == upscale * supersample
    lq = torch.rand(1, 3, 3, 9, 14)
    with torch.no_grad():
        out, ref = net(lq), big(lq)
    assert out.shape == (1, 3, 3, 9 * upscale, 14 * upscale)
    pooled = torch.nn.functional.avg_pool2d(ref.flatten(0, 1), supersample).unflatten(0, (1, 3))
    assert max_diff(out, pooled) <= 1e-6
    assert (ref - torch.nn.functional.interpolate(pooled.flatten(0, 1), scale_factor=supersample)
            .unflatten(0, (1, 3))).abs().max() > 1e-3  # the averaging did something


@pytest.mark.parametrize("upscale,bad", [(2, 3), (2, 0), (4, 2), (2, True), (2, 2.0)])
def test_supersample_factors_that_make_no_head_are_rejected(upscale, bad):
    with pytest.raises(ValueError, match="supersample must be 1 or a factor"):
        RealBasicVSRNet(8, 1, 1, upscale=upscale, supersample=bad)


# --- Interpolation: the weight-free baselines of the zoo ----------------------------------------------


def test_interpolation_bicubic_is_torchs_bicubic_and_loads_by_name():
    from realbasicvsr.models import Interpolation

    model = load_model("bicubic")
    assert isinstance(model, Interpolation) and model.upscale == 4 and not list(model.parameters())
    x = torch.rand(1, 3, 3, 10, 14)
    ref = torch.nn.functional.interpolate(x[0], scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.equal(model(x)[0], ref)


def test_interpolation_lanczos_keeps_flat_and_smooth_signals_and_is_sharper_than_bicubic():
    from realbasicvsr.models import Interpolation

    lanczos, bicubic = load_model("lanczos"), Interpolation(4, "bicubic")
    flat = torch.full((1, 1, 3, 9, 11), 0.3)
    assert (lanczos(flat) - 0.3).abs().max() < 1e-6
    # a slow sine sampled at pixel centres: the x4 result matches the sine at the output centres
    n = 32
    xs = (torch.arange(n) + 0.5) / n
    row = torch.sin(2 * torch.pi * xs).double()
    img = row.expand(1, 1, 3, 8, n).float()
    xo = (torch.arange(4 * n) + 0.5) / (4 * n)
    truth = torch.sin(2 * torch.pi * xo)[16:-16]  # away from the clamped borders
    err = (lanczos(img)[0, 0, 0, 4, 16:-16] - truth).abs().max()
    assert err < 4e-3 and err < 0.5 * (bicubic(img)[0, 0, 0, 4, 16:-16] - truth).abs().max()  # 0.0029 vs 0.0079
    # a step: Lanczos-3 rises over fewer output pixels than bicubic
    step = torch.zeros(1, 1, 3, 4, 16)
    step[..., 8:] = 1

    def rise(y):
        r = y[0, 0, 0, 2]
        return int(((r > 0.1) & (r < 0.9)).sum())

    assert rise(lanczos(step)) < rise(bicubic(step))


def test_interpolation_has_no_weights_file():
    from realbasicvsr import RealBasicVSRError
    from realbasicvsr.checkpoint import resolve_source

    with pytest.raises(RealBasicVSRError, match="no weights file"):
        resolve_source("bicubic")


def _conv_flops(fn) -> int:
    """FLOPs of the aten convolutions ``fn`` runs (fused oneDNN calls are not aten convolutions)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return sum(n for op, n in counter.get_flop_counts()["Global"].items() if "convolution" in str(op))


@pytest.mark.parametrize("upscale,supersample", [(4, 1), (2, 1), (1, 1), (2, 2)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_head_in_strips_equals_the_head_on_whole_frames(upscale, supersample, channels_last, monkeypatch):
    torch.manual_seed(0)
    net = BasicVSRNet(mid_channels=8, num_blocks=1, upscale=upscale, head_channels=6, supersample=supersample).eval()
    upscale *= supersample  # the strips are rows of the head's own output
    h, w = 13, 10  # 13 LR rows: the last strip is a partial one for every strip height below
    layout = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=layout)
    lr = torch.rand(1, 3, h, w)
    fb, ff = (torch.randn(1, 8, h, w).contiguous(memory_format=layout) for _ in range(2))
    monkeypatch.setattr(blocks, "FUSE_ON_CPU", False)  # plain convs, so the FLOP counter sees every row computed
    with torch.inference_mode():
        net.head_strip_pixels = None
        whole = net.upsample(lr, fb, ff)
        whole_flops = _conv_flops(lambda: net.upsample(lr, fb, ff))
        for lr_rows in (1, 2, 5, 12):
            net.head_strip_pixels = lr_rows * w * upscale * upscale
            strips = net.upsample(lr, fb, ff)
            assert max_diff(strips, whole) <= 1e-6, lr_rows
            # the strips ran: rows next to each cut are computed twice
            assert _conv_flops(lambda: net.upsample(lr, fb, ff)) > whole_flops, lr_rows
        net.head_strip_pixels = 13 * w * upscale * upscale  # one strip covers the frame: the whole-frame path
        assert _conv_flops(lambda: net.upsample(lr, fb, ff)) == whole_flops


def test_fused_cpu_convolutions_give_the_plain_ops_numbers(model, golden, monkeypatch):
    # bf16 only where the CPU computes it natively: elsewhere oneDNN refuses the fused bf16 call, and the
    # plain ops emulate bf16 slowly (196 s for this test on an AVX2-only CPU)
    native_bf16 = cpu_has_native_bf16()
    lq = golden["lq"]
    with torch.inference_mode():
        fused = model(lq)
        fused_flops = _conv_flops(lambda: model(lq))
        if native_bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                fused_bf16 = model(lq).float()
    monkeypatch.setattr(blocks, "FUSE_ON_CPU", False)
    with torch.inference_mode():
        plain = model(lq)
        plain_flops = _conv_flops(lambda: model(lq))
        if native_bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                plain_bf16 = model(lq).float()
    assert fused_flops < 0.05 * plain_flops  # nearly every conv went through oneDNN's fused call
    assert max_diff(fused, plain) <= 1e-6
    assert max_diff(fused, golden["output"]) < ATOL
    if not native_bf16:
        return
    # under autocast the fused convs run in bf16 (not silently in fp32), and no less accurately than the plain ops
    fused_error, plain_error = (fused_bf16 - fused).abs().mean(), (plain_bf16 - plain).abs().mean()
    assert fused_error > 1e-4
    assert fused_error < 1.5 * plain_error


def test_conv_fused_falls_back_to_the_plain_ops_with_autograd():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(4, 5, 3, 1, 1)
    x = torch.rand(1, 4, 6, 7, requires_grad=True)
    residual = torch.rand(1, 5, 6, 7)
    out = blocks.conv_fused(conv, x, residual=residual)
    out.sum().backward()  # a graph exists: the fused op (no autograd formula) was not used
    assert max_diff(out.detach(), conv(x).detach() + residual) <= 1e-6
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_flow_warp_of_bf16_features_lands_on_the_right_pixel_past_256():
    """Under autocast the features are bf16 and the flow fp32: the pixel grid must not be built in bf16,
    which cannot hold odd positions past 256 (the warp then sampled a neighbouring pixel)."""
    x = torch.zeros(1, 1, 2, 600)
    x[..., 301] = 1.0
    flow = torch.zeros(1, 2, 600, 2)
    flow[..., 0] = 1.0  # every pixel samples its right-hand neighbour
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = flow_warp(x.bfloat16(), flow)
    assert out[0, 0, 0].float().argmax().item() == 300
    assert out[0, 0, 0, 300].item() == 1.0
    assert max_diff(flow_warp(x, flow), torch.nn.functional.pad(x[..., 1:], (0, 1))) <= 1e-6


def test_conv_fused_falls_back_for_good_where_onednn_refuses_the_fusion(monkeypatch):
    """A refusal (bf16 on a CPU without AVX-512, say) warns once and turns the fusion off for that dtype only."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(4, 5, 3, 1, 1)
    x = torch.rand(1, 4, 6, 7)
    calls = []
    fused_call = blocks._fused_call

    def refuse_bf16(conv, x, *args):
        calls.append(x.dtype)
        if x.dtype == torch.bfloat16:
            raise RuntimeError("mkldnn_convolution_pointwise: unsupported post-op on this CPU")
        return fused_call(conv, x, *args)

    monkeypatch.setattr(blocks, "_fused_call", refuse_bf16)
    monkeypatch.setattr(blocks, "FUSE_ON_CPU", True)
    monkeypatch.setattr(blocks, "_REFUSED", set())
    with torch.inference_mode():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            with pytest.warns(RuntimeWarning, match="fused CPU convolutions in bfloat16 are not available"):
                out = blocks.conv_fused(conv, x, torch.nn.ReLU())
            again = blocks.conv_fused(conv, x, torch.nn.ReLU())  # no second try, no second warning
            assert torch.equal(out, again) and out.dtype == torch.bfloat16
        fp32 = blocks.conv_fused(conv, x, torch.nn.ReLU())  # fp32 still fuses
        assert max_diff(fp32, torch.relu(conv(x))) <= 1e-6
    assert calls == [torch.bfloat16, torch.float32] and blocks._REFUSED == {torch.bfloat16}


def test_conv_fused_lets_out_of_memory_through(monkeypatch):
    def oom(*args):
        raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 1 GB")

    monkeypatch.setattr(blocks, "_fused_call", oom)
    monkeypatch.setattr(blocks, "FUSE_ON_CPU", True)
    with torch.inference_mode(), pytest.raises(RuntimeError, match="not enough memory"):
        blocks.conv_fused(torch.nn.Conv2d(4, 5, 3, 1, 1), torch.rand(1, 4, 6, 7))
    assert blocks.FUSE_ON_CPU is True and torch.float32 not in blocks._REFUSED


def test_conv_fused_keeps_the_fusion_when_the_plain_op_fails_too(monkeypatch):
    """oneDNN says "could not create a primitive" both for a fusion it lacks and for a primitive it had no
    memory for (bf16 under a memory limit on an AVX-512 CPU): when the plain op fails as well, the fusion was
    not the problem, so it stays on, and the error reaches the engine, which counts it as out of memory."""
    def no_primitive(*args, **kwargs):
        raise RuntimeError("could not create a primitive")

    monkeypatch.setattr(blocks, "_fused_call", no_primitive)
    monkeypatch.setattr(blocks.F, "conv2d", no_primitive)
    monkeypatch.setattr(blocks, "FUSE_ON_CPU", True)
    monkeypatch.setattr(blocks, "_REFUSED", set())
    with torch.inference_mode(), pytest.raises(RuntimeError, match="could not create a primitive") as e:
        blocks.conv_fused(torch.nn.Conv2d(4, 5, 3, 1, 1), torch.rand(1, 4, 6, 7))
    assert blocks._REFUSED == set() and engine._is_out_of_memory(e.value)
    assert not engine._is_out_of_memory(RuntimeError("mkldnn_convolution_pointwise: unsupported post-op"))


def test_cleaning_with_a_known_first_pass_decides_like_cleaning_everything(model, golden, monkeypatch):
    """The streaming engine passes the first cleaning pass of a window's first frames, done by the previous
    window: for any threshold, in particular where the known frames alone are above it and the rest below,
    the passes and the cleaned frames are those of cleaning the whole window."""
    monkeypatch.setattr(model, "clean_batch_pixels", 1)  # one frame per conv: no batch-size rounding
    lq = golden["lq"]
    k = lq.shape[1] // 2
    with torch.no_grad():
        res = model._residues(lq)[0]  # frame by frame, as the previous window computed them
        means = res.abs().mean(dim=(1, 2, 3))
        sums = res.abs().float().sum(dim=(1, 2, 3))[None]
        known = ((lq[0, :k] + res[:k])[None], sums[:, :k])
        head, tail = means[:k].mean().item(), means[k:].mean().item()
        whole = means.mean().item()
        seen = set()
        for thres in sorted({head, tail, whole, (head + whole) / 2, (tail + whole) / 2, 0.0, 1.0}):
            monkeypatch.setattr(model, "dynamic_refine_thres", thres)
            ref, npass, _ = model._clean(lq)
            got, npass_known, first = model._clean(lq, known)
            assert npass_known == npass, thres
            assert torch.equal(got, ref), thres
            assert torch.equal(first, sums)
            seen.add(npass)
    assert seen == {1, 2, 3}


def test_carried_right_context_is_used_only_for_the_same_frames(model, golden, monkeypatch):
    """A window whose first frames are not the carried ones (a changed pixel, another length) recomputes
    them; with the carried work stripped from the state the outputs are the same up to rounding."""
    monkeypatch.setattr(model, "clean_batch_pixels", 1)
    lq = golden["lq"]
    t = lq.shape[1]
    cleaned = []
    hook = model.image_cleaning.register_forward_pre_hook(lambda m, a: cleaned.append(len(a[0])))
    try:
        with torch.no_grad():
            _, state = model.forward_window(lq[:, :t - 1], 0, t - 3)
            assert state.ahead.shape[1] == state.ahead_raw.shape[1] == 2 and state.ahead_flows.shape[1] == 1
            bare = ForwardState(state.feat, state.lr)
            changed = lq[:, t - 3:].clone()
            changed[0, 0, 1, 5, 7] += 0.01
            for nxt in (lq[:, t - 3:], changed, lq[:, t - 2:]):
                cleaned.clear()
                out, _ = model.forward_window(nxt, 0, nxt.shape[1], state)
                used = sum(cleaned)
                cleaned.clear()
                ref, _ = model.forward_window(nxt, 0, nxt.shape[1], bare)
                # the carried flows came from a batch of other size: rounding only (reusing wrong work: >1e-2)
                assert max_diff(out, ref) < 1e-5
                assert (used, sum(cleaned)) == ((1, 3) if nxt is not changed and nxt.shape[1] == 3 else (nxt.shape[1],) * 2)
    finally:
        hook.remove()
