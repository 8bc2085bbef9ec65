"""The training dataset: shapes, mirroring, reproducibility with any number of DataLoader workers."""

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from realbasicvsr.data import PanSequence, RealVSRDataset, VideoSequence, reds_sequences
from realbasicvsr.degradations import DegradationConfig
from realbasicvsr.errors import RealBasicVSRError

from .test_sequences import gray_video, make_reds


@pytest.fixture(scope="module")
def reds(tmp_path_factory):
    return make_reds(tmp_path_factory.mktemp("reds"), clips=("000", "001", "002", "003", "011"), frames=6, h=48, w=56)


# The tests that compare items bit for bit send every clip through the recipe's H.264 step (libx264).
H264 = {"first": {"video": {"prob": 1.0, "codec_probs": (0.5, 0.5, 0.0)}}}


def small_dataset(reds, **kw):
    args = dict(clip_length=3, lq_size=8, seed=11)
    args.update(kw)
    return RealVSRDataset(reds_sequences(reds), **args)


def test_items_have_the_recipe_shapes_and_mirroring(reds):
    ds = small_dataset(reds)
    assert len(ds) == 3
    lq, gt, gt_sharp = ds[0]
    assert lq.shape == (6, 3, 8, 8) and gt.shape == (6, 3, 32, 32) and gt_sharp.shape == (6, 3, 32, 32)
    assert lq.dtype == gt.dtype == torch.float32
    assert 0 <= lq.min() and lq.max() <= 1 and 0 <= gt.min() and gt.max() <= 1
    assert torch.equal(gt, gt.flip(0)) and torch.equal(gt_sharp, gt_sharp.flip(0))
    assert not torch.equal(gt, gt_sharp)  # sharpened target differs from the plain GT
    # GT is a crop of real frames: its values are 8-bit levels of the source
    assert torch.allclose(gt * 255, (gt * 255).round(), atol=1e-4)
    no_mirror = small_dataset(reds, mirror=False, clip_length=4)
    lq, gt, _ = no_mirror[1]
    assert lq.shape[0] == gt.shape[0] == 4


def test_items_are_reproducible_and_vary_with_index_epoch_and_seed(reds):
    config = DegradationConfig().replace(H264)
    ds = small_dataset(reds, config=config)
    a = ds[1]
    b = small_dataset(reds, config=config)[1]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[1], ds[2][1])
    ds.set_epoch(1)
    assert not torch.equal(a[0], ds[1][0])
    assert not torch.equal(a[0], small_dataset(reds, seed=12, config=config)[1][0])


@pytest.mark.slow
def test_dataloader_workers_give_the_same_batches(reds):
    ds = small_dataset(reds, repeat=2, config=DegradationConfig().replace(H264))
    serial = [b for b in DataLoader(ds, batch_size=2, num_workers=0)]
    parallel = [b for b in DataLoader(ds, batch_size=2, num_workers=2)]
    assert len(serial) == len(parallel) == 3
    for s, p in zip(serial, parallel):
        assert all(torch.equal(x, y) for x, y in zip(s, p))
    # workers do not share RNG state: items differ within a batch even for the same sequence
    assert not torch.equal(serial[0][0][0], serial[1][0][1])


def test_video_sequences_and_intervals(tmp_path):
    seq = VideoSequence(gray_video(tmp_path / "v.mp4", n=20, w=40, h=40))
    ds = RealVSRDataset([seq], clip_length=3, intervals=(2, 3), lq_size=4, seed=0, repeat=6,
                        config=DegradationConfig().replace({"unsharp": {"enabled": False}}))
    steps = set()
    for i in range(len(ds)):
        lq, gt, gs = ds[i]
        assert lq.shape == (6, 3, 4, 4) and gt.shape == (6, 3, 16, 16)
        levels = gt[:3].mean(dim=(1, 2, 3)) * 255 / 5  # frame index from the gray level
        steps.add(round(float(levels[1] - levels[0])))
        assert torch.equal(gt, gs)  # unsharp masking disabled
    assert steps == {2, 3}


def test_unusable_inputs_are_clear_errors(reds):
    with pytest.raises(RealBasicVSRError, match="needs"):
        small_dataset(reds, clip_length=7)
    with pytest.raises(RealBasicVSRError, match="smaller than"):
        small_dataset(reds, lq_size=16)[0]


class Flat:
    """A sequence whose every frame is one grey level (which sequence a frame came from shows in its value)."""

    def __init__(self, level: int) -> None:
        self.name, self.num_frames, self.level = f"flat_{level}", 8, level

    def read(self, indices):
        return np.full((len(indices), 24, 24, 3), self.level, np.uint8)


def test_cuts_switch_to_another_sequence_once_at_a_random_frame():
    seqs = [Flat(40), Flat(120), Flat(200)]
    kw = dict(clip_length=6, lq_size=6, mirror=False, hflip=0, vflip=0, transpose=0, seed=3,
              config=DegradationConfig().replace({"unsharp": {"enabled": False}}))
    cuts = set()
    for i in range(len(seqs)):
        plain = RealVSRDataset(seqs, **kw)[i][1].mean(dim=(1, 2, 3)) * 255
        assert torch.allclose(plain, torch.full((6,), float(seqs[i].level)), atol=1e-3)  # no cut by default
        cut = RealVSRDataset(seqs, cut_prob=1.0, **kw)[i][1]
        levels = [round(float(v)) for v in cut.mean(dim=(1, 2, 3)) * 255]
        at = next(k for k, v in enumerate(levels) if v != levels[0])
        assert levels[0] == seqs[i].level and 1 <= at < 6
        assert len(set(levels[at:])) == 1 and levels[at] in {40, 120, 200} - {seqs[i].level}
        cuts.add(at)
    ds = RealVSRDataset(seqs, cut_prob=1.0, repeat=10, **kw)
    for i in range(len(ds)):
        levels = (ds[i][1].mean(dim=(1, 2, 3)) * 255).round()
        cuts.add(int(torch.nonzero(levels != levels[0])[0]))
    assert cuts == {1, 2, 3, 4, 5}  # every frame but the first can be the cut
    with pytest.raises(RealBasicVSRError, match=r"cut_prob must be in \[0, 1\]"):
        RealVSRDataset(seqs, cut_prob=1.5, **kw)


def test_fast_pans_move_along_the_same_path_faster():
    rng = np.random.default_rng(0)
    picture = (rng.random((200, 200, 3)) * 255).astype(np.uint8)
    picture = np.ascontiguousarray(np.repeat(np.repeat(picture, 4, 0), 4, 1))  # blocks: a shift is measurable
    for seed in range(4):
        slow, fast = PanSequence(picture, seed, size=96), PanSequence(picture, seed, size=96, max_speed=12)
        assert 0.3 <= np.hypot(*slow.speed) <= 2.5 and 0.3 <= np.hypot(*fast.speed) <= 12
        assert np.hypot(*fast.speed) > np.hypot(*slow.speed)
        assert np.allclose(fast.speed / np.hypot(*fast.speed), slow.speed / np.hypot(*slow.speed))  # direction
    seq = PanSequence(picture, 1, size=96, max_speed=12)
    seq.angle, seq.zoom = 0.0, 0.0  # a pure translation, to measure it
    a, b = (f.astype(np.float32).mean(axis=2) for f in seq.read([0, 1]))
    (dx, dy), _ = cv2.phaseCorrelate(b, a)
    assert np.allclose((dx, dy), seq.speed, atol=0.3), ((dx, dy), seq.speed)
    with pytest.raises(RealBasicVSRError, match="max_speed must be >= 0.3"):
        PanSequence(picture, 1, max_speed=0.1)
