"""Degradation settings: the TOML recipe, overrides and validation."""

from pathlib import Path

import pytest

from realbasicvsr.degradations import DegradationConfig, load_degradation_config
from realbasicvsr.errors import RealBasicVSRError

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "realbasicvsr_degradations.toml"


def test_recipe_toml_equals_the_built_in_defaults():
    cfg = load_degradation_config(RECIPE)
    assert cfg == DegradationConfig()
    assert cfg.first.blur.kernel_probs == (0.405, 0.225, 0.108, 0.027, 0.108, 0.027, 0.1)
    assert cfg.second.blur.prob == 0.8 and cfg.second.blur.sigma_x == (0.2, 1.5)
    assert cfg.second.resize.mode_probs == (0.3, 0.4, 0.3) and cfg.second.resize.scale_step == 0.03
    assert cfg.final.sinc.omega_range(21) == pytest.approx((3.14159265 / 3, 3.14159265))
    assert cfg.first.blur.omega_range(11)[0] == pytest.approx(3.14159265 / 3)
    assert cfg.first.blur.omega_range(13)[0] == pytest.approx(3.14159265 / 5)


def test_partial_override_from_file_and_training_config_table(tmp_path):
    p = tmp_path / "train.toml"
    p.write_text("[model]\nname = 'x'\n[degradations.first.jpeg]\nquality = [50, 60]\n[degradations.final]\nshuffle = false\n")
    cfg = load_degradation_config(p, {"second": {"noise": {"gaussian_sigma_step": 0.5}}})
    assert cfg.first.jpeg.quality == (50.0, 60.0) and cfg.final.shuffle is False
    assert cfg.second.noise.gaussian_sigma_step == 0.5
    assert cfg.first.blur == DegradationConfig().first.blur
    roundtrip = DegradationConfig().replace(cfg.to_dict())
    assert roundtrip == cfg


@pytest.mark.parametrize("overrides, words", [
    ({"first": {"blurr": {}}}, "unknown degradation setting 'first.blurr'"),
    ({"first": {"blur": {"kernel_probs": [0.5, 0.5]}}}, "one probability per choice"),
    ({"first": {"resize": {"interpolation_probs": [0.2, 0.2, 0.2]}}}, "sum to 1"),
    ({"first": {"blur": {"kernel_sizes": [8]}}}, "odd"),
    ({"second": {"jpeg": {"quality": [90, 30]}}}, "low <= high"),
    ({"final": {"video": {"codecs": ["vp9"], "codec_probs": [1.0]}}}, "choices must be among"),
    ({"scale": 0}, "scale"),
    ({"first": {"noise": {"prob": "yes"}}}, "must be a number"),
])
def test_invalid_settings_name_the_problem(overrides, words):
    with pytest.raises(RealBasicVSRError, match=words):
        DegradationConfig().replace(overrides)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(RealBasicVSRError, match="not found"):
        load_degradation_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[first\n")
    with pytest.raises(RealBasicVSRError, match="not valid TOML"):
        load_degradation_config(bad)
