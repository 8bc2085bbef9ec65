"""End-to-end LQ synthesis: shapes, range, determinism, mirroring and config plumbing."""

import cv2
import numpy as np
import pytest

from realbasicvsr.degradations import DegradationConfig, DegradationPipeline, ops
from realbasicvsr.errors import RealBasicVSRError


def natural_clip(t, h, w, seed=0):
    rng = np.random.default_rng(seed)
    tex = cv2.resize(rng.random((h // 8, w // 8, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.stack([np.clip(np.roll(tex, 2 * i, axis=1), 0, 1) for i in range(t)]).astype(np.float32)


@pytest.fixture(scope="module")
def clip():
    return natural_clip(15, 256, 256)


@pytest.mark.slow
def test_fifteen_frames_become_thirty_mirrored_lq_frames(clip):
    pipe = DegradationPipeline()
    lq, gt = pipe(clip, np.random.default_rng(42), mirror=True)
    assert lq.shape == (30, 64, 64, 3) and lq.dtype == np.float32
    assert gt.shape == (30, 256, 256, 3)
    assert lq.min() >= 0 and lq.max() <= 1
    assert np.allclose(lq * 255, np.round(lq * 255), atol=1e-4)  # 8-bit levels
    np.testing.assert_array_equal(gt, gt[::-1])  # mirrored sharpened GT
    assert not np.array_equal(lq[0], lq[29])  # degradations walk on: LQ is not mirrored
    lq2, gt2 = pipe(clip, np.random.default_rng(42), mirror=True)
    np.testing.assert_array_equal(lq, lq2)
    np.testing.assert_array_equal(gt, gt2)
    lq3, _ = pipe(clip, np.random.default_rng(43), mirror=True)
    assert not np.array_equal(lq, lq3)
    # the LQ keeps the content: per-frame mean colours match the GT's
    assert np.abs(lq.mean(axis=(1, 2)) - gt.mean(axis=(1, 2))).max() < 0.08


def test_without_degradations_lq_is_the_resized_sharpened_gt(clip):
    off = {"prob": 0.0}
    cfg = DegradationConfig().replace({
        "first": {k: off for k in ("blur", "resize", "noise", "jpeg", "video")},
        "second": {k: off for k in ("blur", "resize", "noise", "jpeg")},
        "final": {"video": off, "sinc": off, "interpolations": ["area"], "interpolation_probs": [1.0]},
    })
    pipe = DegradationPipeline(cfg)
    lq, gt = pipe(clip[:3, :64, :96], np.random.default_rng(0))
    assert lq.shape == (3, 16, 24, 3)
    ref = ops.quantize([cv2.resize(g, (24, 16), interpolation=cv2.INTER_AREA) for g in gt])
    np.testing.assert_array_equal(lq, ref)
    np.testing.assert_allclose(gt, ops.unsharp_mask(clip[:3, :64, :96]))


def test_sharpening_can_be_disabled_and_scale_changed(clip):
    cfg = DegradationConfig().replace({"unsharp": {"enabled": False}, "scale": 2})
    lq, gt = DegradationPipeline(cfg)(clip[:4, :40, :60], np.random.default_rng(1))
    np.testing.assert_array_equal(gt, clip[:4, :40, :60])
    assert lq.shape == (4, 20, 30, 3)


def only_final_video(**extra) -> dict:
    """Settings with every degradation off but the final area resize, then the final video step (off here)."""
    off = {"prob": 0.0}
    return {
        "first": {k: off for k in ("blur", "resize", "noise", "jpeg", "video")},
        "second": {k: off for k in ("blur", "resize", "noise", "jpeg")},
        "final": {"sinc": off, "shuffle": False, "interpolations": ["area"], "interpolation_probs": [1.0],
                  "video": {"prob": 0.0}},
        **extra,
    }


def test_only_the_video_codec_changes_frames(clip):
    base = only_final_video()
    plain = DegradationPipeline(DegradationConfig().replace(base))(clip[:6], np.random.default_rng(3))[0]
    base["final"]["video"] = {"prob": 1.0, "bitrate": [10000, 10000]}
    coded = DegradationPipeline(DegradationConfig().replace(base))(clip[:6], np.random.default_rng(3))[0]
    diff = np.abs(coded - plain).mean()
    assert diff > 0.005


def _psnr(a, b):
    return 10 * np.log10(1 / np.mean((a - b) ** 2))


def test_video_rate_per_pixel_sets_the_compression_severity(clip):
    """bits_per_pixel: the seed's 1e4 bit/s at 1 fps is mild on a small crop (about 10 bit/pixel); 0.15 is not."""
    base = only_final_video(unsharp={"enabled": False}, scale=1)
    frames = clip[:6, :32, :32]
    plain = DegradationPipeline(DegradationConfig().replace(base))(frames, np.random.default_rng(3))[0]
    scores = {}
    for name, video in {"seed": {"bitrate": [10000, 10000]}, "low": {"bits_per_pixel": [0.15, 0.15]},
                        "high": {"bits_per_pixel": [3.0, 3.0]}}.items():
        base["final"]["video"] = {"prob": 1.0, "codecs": ["libx264"], "codec_probs": [1.0], **video}
        pipe = DegradationPipeline(DegradationConfig().replace(base))
        degrader = pipe.new_clip(np.random.default_rng(3), frames.shape[1:3])
        lq = degrader(frames)
        scores[name] = _psnr(lq, plain)
        scores[name + " choices"] = degrader.operations["final.video"].choices
    # 32x32 at 0.15 bit/pixel: 154 bits a frame, so 27 fps keeps the encoder's rate >= 4 kbit/s
    assert scores["low choices"]["rate"] == 27 and scores["low choices"]["bitrate"] == round(0.15 * 1024 * 27)
    assert scores["high choices"]["rate"] == 25 and "rate" not in scores["seed choices"]
    # measured: seed 30.5 dB, 3 bit/pixel 29.1, 0.15 bit/pixel 15.5
    assert scores["seed"] > 27 and scores["high"] > 27 and scores["low"] < 20
    with pytest.raises(RealBasicVSRError, match="bits_per_pixel"):
        DegradationConfig().replace({"final": {"video": {"bits_per_pixel": [0.5, 0.1]}}}).validate()


def test_bad_clip_shapes_and_tiny_frames():
    pipe = DegradationPipeline()
    with pytest.raises(RealBasicVSRError):
        pipe(np.zeros((4, 8, 8), np.float32), np.random.default_rng(0))
    with pytest.raises(RealBasicVSRError):
        pipe(np.zeros((2, 3, 8, 3), np.float32), np.random.default_rng(0))
    lq, _ = pipe(np.random.default_rng(0).random((3, 8, 8, 3), dtype=np.float32), np.random.default_rng(0))
    assert lq.shape == (3, 2, 2, 3)
