"""Training recipes: every number of the seed's two stages, validation of typos and types, --set."""

from __future__ import annotations

from pathlib import Path

import pytest

from realbasicvsr import RealBasicVSRError
from realbasicvsr.tomlconfig import parse_assignments, read_toml
from realbasicvsr.training import load_train_config
from realbasicvsr.report import as_flag, error_message

from .conftest import REPO

CONFIGS = REPO / "configs"


def test_stage1_recipe_numbers():
    c = load_train_config(CONFIGS / "realbasicvsr_wogan_c64b20_2x30x8_8xb2_lr1e-4_300k_reds.toml")
    assert (c.model.mid_channels, c.model.num_propagation_blocks, c.model.num_cleaning_blocks) == (64, 20, 20)
    assert c.model.upscale == 4 and c.model.dynamic_refine_thres == 255 and c.model.spynet == "official"
    assert (c.data.source, c.data.clip_length, c.data.mirror, c.data.intervals) == ("reds", 15, True, (1,))
    assert c.data.lq_size * c.model.upscale == 256 and (c.data.hflip, c.data.vflip, c.data.transpose) == (0.5,) * 3
    assert (c.loss.pixel_weight, c.loss.cleaning_weight, c.loss.perceptual_weight, c.loss.gan_weight) == (1, 1, 0, 0)
    assert not c.uses_gan
    t = c.train
    assert (t.iterations, t.batch_size, t.lr, t.betas, t.lr_schedule, t.ema_decay) == (
        300_000, 2, 1e-4, (0.9, 0.99), "constant", 0.999)
    assert t.checkpoint_every == 5000 and c.val.every == 5000
    # the degradations are the recipe's (the train pipeline of MMagic's
    # configs/real_basicvsr/realbasicvsr_wogan-c64b20-2x30x8_8xb2-lr1e-4-300k_reds.py), at the model's scale
    d = c.degradations
    assert d.scale == 4 and d.unsharp.kernel_size == 51 and d.unsharp.weight == 0.5 and d.unsharp.threshold == 10
    assert d.first.video.bitrate == (10_000, 100_000) and d.second.blur.prob == 0.8


def test_stage2_recipe_numbers():
    c = load_train_config(CONFIGS / "realbasicvsr_c64b20_1x30x8_8xb1_lr5e-5_150k_reds.toml")
    assert c.uses_gan and c.loss.gan_weight == 0.05 and c.loss.perceptual_weight == 1.0
    assert c.loss.perceptual_backbone == "vgg19"
    assert (c.train.iterations, c.train.batch_size, c.train.lr, c.train.discriminator_lr) == (150_000, 1, 5e-5, 1e-4)
    assert c.train.betas == (0.9, 0.99) and c.train.ema_decay == 0.999
    assert c.model.init == "realbasicvsr_wogan_x4" and c.model.discriminator_channels == 64


def test_x2_and_finetune_configs_load():
    x2 = load_train_config(CONFIGS / "realbasicvsr_wogan_c64b20_x2.toml")
    assert x2.model.upscale == 2 and x2.degradations.scale == 2 and x2.model.init_partial
    ss = load_train_config(CONFIGS / "lite_x2_supersampled.toml")  # lite x2: lite x4's network, averaged down
    assert (ss.model.upscale, ss.model.supersample, ss.model.arch.head_scale, ss.degradations.scale) == (2, 2, 4, 2)
    ft = load_train_config(CONFIGS / "finetune_own_videos.toml")
    assert ft.model.init == "realbasicvsr_x4" and ft.data.source == "folder" and ft.uses_gan


def test_every_config_file_is_valid():
    names = sorted(p.name for p in CONFIGS.glob("*.toml") if p.name != "realbasicvsr_degradations.toml")
    assert len(names) >= 5
    for name in names:
        load_train_config(CONFIGS / name)


def test_set_overrides_parse_toml_values():
    assert parse_assignments(["train.lr=5e-5", "data.root=my clips", "data.intervals=[1, 2]", "data.mirror=false"],
                             "training") == {"train": {"lr": 5e-5}, "data": {"root": "my clips", "intervals": [1, 2],
                                                                             "mirror": False}}
    c = load_train_config(CONFIGS / "smoke.toml", ["train.lr=5e-5", "model.upscale=2"])
    assert c.train.lr == 5e-5 and c.model.upscale == 2 and c.degradations.scale == 2


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("train.lrr=1", "unknown training setting 'train.lrr'"),
        ("train.iterations=ten", "train.iterations must be an integer"),
        ("train.iterations=1.5", "train.iterations must be an integer"),
        ("data.mirror=1", "data.mirror must be true or false"),
        ("model.upscale=3", "model.upscale must be 4, 2 or 1"),
        ("model.supersample=3", "model.supersample must make upscale * supersample 4, 2 or 1"),
        ("loss.pixel_criterion=l2", "loss.pixel_criterion must be one of l1, mse"),
        ("train.amp=fp8", "train.amp must be one of"),
        ("loss.distill_weight=1", "loss.distill_weight > 0 needs loss.distill_teacher"),
        ("loss.distill_ensemble=3", "loss.distill_ensemble must be one of 1, 2, 4, 8"),
        ("loss.distill_then=b.pth", "loss.distill_then is the teacher's second stage: it needs loss.distill_teacher"),
        ("loss.perceptual_backbone=resnet", "loss.perceptual_backbone must be one of"),
        ("degradations.first.blur.prob=2", "first.blur.prob must be in [0, 1]"),
        ("data.cut_prob=1.5", "data.cut_prob must be in [0, 1]"),
        ("data.pan_max_speed=0.1", "data.pan_max_speed must be >= 0.3"),
        ("noequals", "--set expects key=value"),
    ],
)
def test_bad_settings_are_one_line_errors(assignment, message):
    with pytest.raises(RealBasicVSRError, match=None) as e:
        load_train_config(CONFIGS / "smoke.toml", [assignment])
    shown = error_message(e.value, as_flag)  # as the command line shows it (settings spelt as flags)
    assert message in shown and "\n" not in shown


def test_bad_files(tmp_path: Path):
    with pytest.raises(RealBasicVSRError, match="training config not found"):
        load_train_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nlr = 1")
    with pytest.raises(RealBasicVSRError, match="not valid TOML"):
        load_train_config(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("[trian]\nlr = 1e-4\n")
    with pytest.raises(RealBasicVSRError, match="unknown training setting 'trian'"):
        load_train_config(typo)


def test_written_config_reads_back(tmp_path: Path):
    from realbasicvsr.tomlconfig import to_toml

    c = load_train_config(CONFIGS / "realbasicvsr_c64b20_1x30x8_8xb1_lr5e-5_150k_reds.toml", ["data.root=a \"b\""])
    (tmp_path / "c.toml").write_text(to_toml(c))
    assert load_train_config(tmp_path / "c.toml") == c
    assert read_toml(tmp_path / "c.toml", "training")["data"]["root"] == 'a "b"'
