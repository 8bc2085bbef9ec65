"""The stochastic scheme over many seeded draws: discrete frequencies (chi-square), ranges and steps."""

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from realbasicvsr.degradations import DegradationConfig, DegradationPipeline, RandomWalk

N = 3000
CFG = DegradationConfig()


@pytest.fixture(scope="module")
def degraders():
    pipe = DegradationPipeline(CFG)
    return [pipe.new_clip(np.random.default_rng(seed), (256, 256)) for seed in range(N)]


def chi2_p(values, names, probs):
    counts = Counter(values)
    assert set(counts) <= set(names)
    observed = np.array([counts.get(n, 0) for n in names], dtype=float)
    expected = np.array(probs, dtype=float) / np.sum(probs) * len(values)
    return stats.chisquare(observed, expected).pvalue


def test_blur_kernel_families_and_sizes(degraders):
    for stage, cfg in (("first.blur", CFG.first.blur), ("second.blur", CFG.second.blur)):
        ops = [d.operations[stage] for d in degraders]
        assert chi2_p([o.choices["kernel_type"] for o in ops], cfg.kernel_types, cfg.kernel_probs) > 1e-4
        assert chi2_p([o.choices["kernel_size"] for o in ops], cfg.kernel_sizes, [1] * 8) > 1e-4
    active = [d.operations["second.blur"].active for d in degraders]
    assert chi2_p(active, [True, False], [0.8, 0.2]) > 1e-4
    assert all(d.operations["first.blur"].active for d in degraders)


def test_resize_noise_codec_and_final_choices(degraders):
    for stage, cfg in (("first", CFG.first), ("second", CFG.second)):
        rs = [d.operations[f"{stage}.resize"].choices for d in degraders]
        assert chi2_p([c["mode"] for c in rs], ["up", "down", "keep"], cfg.resize.mode_probs) > 1e-4
        assert chi2_p([c["interpolation"] for c in rs], cfg.resize.interpolations, [1, 1, 1]) > 1e-4
        ns = [d.operations[f"{stage}.noise"].choices for d in degraders]
        assert chi2_p([c["noise_type"] for c in ns], ["gaussian", "poisson"], [0.5, 0.5]) > 1e-4
        for kind in ("gaussian", "poisson"):
            assert chi2_p([c["gray"] for c in ns if c["noise_type"] == kind], [True, False], [0.4, 0.6]) > 1e-4
    for stage in ("first.video", "final.video"):
        vs = [d.operations[stage].choices for d in degraders]
        assert chi2_p([c["codec"] for c in vs], ["libx264", "h264", "mpeg4"], [1, 1, 1]) > 1e-4
        rates = np.array([c["bitrate"] for c in vs])
        assert rates.min() >= 10_000 and rates.max() <= 100_000 and np.all(rates == rates.astype(int))
        assert stats.kstest((rates - 1e4) / 9e4, "uniform").pvalue > 1e-4
    assert not any(d.operations["second.video"].active for d in degraders)
    assert chi2_p([d.final_order[0] for d in degraders], ["video", "resize+sinc"], [0.5, 0.5]) > 1e-4
    assert chi2_p([d.operations["final.sinc"].active for d in degraders], [True, False], [0.8, 0.2]) > 1e-4
    assert {d.operations["final.sinc"].choices["kernel_type"] for d in degraders} == {"sinc"}


def test_initial_values_are_uniform_in_their_ranges(degraders):
    sx = [d.operations["first.blur"].walks["sigma_x"].value for d in degraders if "sigma_x" in d.operations["first.blur"].walks]
    assert stats.kstest((np.array(sx) - 0.2) / 2.8, "uniform").pvalue > 1e-4
    sig = [d.operations["first.noise"].walks["sigma"].value for d in degraders if "sigma" in d.operations["first.noise"].walks]
    assert stats.kstest((np.array(sig) - 1) / 29, "uniform").pvalue > 1e-4
    ups = [d.operations["first.resize"].walks["scale"].value for d in degraders if d.operations["first.resize"].choices["mode"] == "up"]
    downs = [d.operations["first.resize"].walks["scale"].value for d in degraders if d.operations["first.resize"].choices["mode"] == "down"]
    keeps = [d.operations["first.resize"].walks["scale"].value for d in degraders if d.operations["first.resize"].choices["mode"] == "keep"]
    assert min(ups) >= 1 and max(ups) <= 1.5 and min(downs) >= 0.15 and max(downs) <= 1 and set(keeps) == {1.0}


def walk_limits(stage, name, op):
    if stage.startswith("final.sinc") or name == "omega":
        cfg = CFG.final.sinc if stage.startswith("final") else getattr(CFG, stage.split(".")[0]).blur
        return (*cfg.omega_range(op.choices["kernel_size"]), cfg.omega_step)
    order = getattr(CFG, stage.split(".")[0])
    table = {
        "sigma_x": ("blur", "sigma_x", "sigma_x_step"), "sigma_y": ("blur", "sigma_y", "sigma_y_step"),
        "rotation": ("blur", "rotation", "rotation_step"),
        "beta_gaussian": ("blur", "beta_gaussian", "beta_gaussian_step"),
        "beta_plateau": ("blur", "beta_plateau", "beta_plateau_step"),
        "scale": ("resize", "scale", "scale_step") if stage.endswith("resize") else ("noise", "poisson_scale", "poisson_scale_step"),
        "sigma": ("noise", "gaussian_sigma", "gaussian_sigma_step"), "quality": ("jpeg", "quality", "quality_step"),
    }
    op_name, rng_name, step_name = table[name]
    sub = getattr(order, op_name)
    return (*getattr(sub, rng_name), getattr(sub, step_name))


def test_every_walk_stays_in_range_and_within_its_step(degraders):
    checked = Counter()
    for d in degraders[:400]:
        for stage, op in d.stages:
            for name, walk in op.walks.items():
                lo, hi, step = walk_limits(stage, name, op)
                assert (walk.low, walk.high, walk.step) == pytest.approx((lo, hi, step))
                vals = walk.take(30)
                assert vals.min() >= lo - 1e-12 and vals.max() <= hi + 1e-12, (stage, name)
                assert np.abs(np.diff(vals)).max() <= step + 1e-9, (stage, name)
                if name == "quality":
                    assert np.all(vals == np.round(vals))
                checked[f"{stage}.{name}"] += 1
    assert len(checked) >= 20  # every kind of walk was exercised
    assert any(np.abs(np.diff(RandomWalk(0, 1, 0.1, np.random.default_rng(0)).take(30))).max() > 0.05 for _ in [0])


def test_applied_parameters_follow_the_walk_across_windows():
    pipe = DegradationPipeline()
    rng = np.random.default_rng(7)
    clip = np.random.default_rng(0).random((10, 64, 64, 3), dtype=np.float32)
    d = pipe.new_clip(rng, (64, 64))
    a, b = d(clip[:6]), d(clip[6:])
    assert a.shape == (6, 16, 16, 3) and b.shape == (4, 16, 16, 3)
    summary = d.summary()
    seen = 0
    for stage, op in d.stages:
        if not op.active:
            continue
        for name, values in op.history.items():
            assert len(values) == 10
            lo, hi, step = walk_limits(stage, name, op)
            v = np.array(values)
            assert v.min() >= lo - 1e-12 and v.max() <= hi + 1e-12
            assert np.abs(np.diff(v)).max() <= step + 1e-9  # including the step between the two windows
            seen += 1
        assert summary[stage]["active"]
    assert seen >= 4
