"""Frame sequences: REDS layout and split, frame folders, video files with random access."""

import av
import numpy as np
import pytest

from realbasicvsr.data import (
    FolderSequence, VideoSequence, clip_indices, find_sequences, random_crop, random_flips, reds_sequences,
)
from realbasicvsr.errors import RealBasicVSRError
from realbasicvsr.io import write_image


def make_reds(root, clips=("000", "001", "011", "015", "020", "042"), frames=4, h=24, w=32, sub="train_sharp"):
    rng = np.random.default_rng(0)
    for c in clips:
        d = root / sub / c
        d.mkdir(parents=True)
        for i in range(frames):
            write_image(d / f"{i:08d}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    return root


def gray_video(path, n=40, w=32, h=24, rate=25, gop=8):
    """Frame i is uniformly gray at level 5 * i, so decoded frames tell their index."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": "0", "g": str(gop), "bf": "0"}
        for i in range(n):
            img = np.full((h, w, 3), 5 * i, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_reds_split_holds_out_reds4(tmp_path):
    root = make_reds(tmp_path)
    train = reds_sequences(root)
    assert [s.name for s in train] == ["001", "042"]
    assert [s.name for s in reds_sequences(root, "val")] == ["000", "011", "015", "020"]
    assert len(reds_sequences(root / "train_sharp", "all")) == 6
    assert train[0].num_frames == 4 and train[0].read([1, 3]).shape == (2, 24, 32, 3)
    assert [s.name for s in find_sequences(root)] == ["001", "042"]


def test_reds_prefers_prepared_sub_images(tmp_path):
    root = make_reds(tmp_path)
    make_reds(tmp_path, clips=("000_s001", "001_s001", "001_s002"), sub="train_sharp_sub")
    assert [s.name for s in reds_sequences(root)] == ["001_s001", "001_s002"]
    assert [s.name for s in reds_sequences(root, "val")] == ["000_s001"]


def test_video_sequence_random_access_matches_decode_order(tmp_path):
    seq = VideoSequence(gray_video(tmp_path / "v.mp4"))
    assert seq.num_frames == 40 and seq.name == "v"
    for idx in ([0, 1, 2], [17, 18, 19, 20], [39], [35, 37, 39], [9, 3]):
        frames = seq.read(idx)
        assert frames.shape == (len(idx), 24, 32, 3)
        np.testing.assert_allclose(frames.reshape(len(idx), -1).mean(1), 5 * np.array(idx), atol=2)


def test_find_sequences_for_folders_and_videos(tmp_path):
    make_reds(tmp_path / "x", clips=("a", "b"), sub="clips")
    gray_video(tmp_path / "x" / "clips" / "c.mkv", n=10)
    seqs = find_sequences(tmp_path / "x" / "clips")
    assert sorted(type(s).__name__ for s in seqs) == ["FolderSequence", "FolderSequence", "VideoSequence"]
    single = find_sequences(tmp_path / "x" / "clips" / "a")
    assert len(single) == 1 and isinstance(single[0], FolderSequence) and single[0].num_frames == 4
    with pytest.raises(RealBasicVSRError):
        find_sequences(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RealBasicVSRError, match="no videos"):
        find_sequences(tmp_path / "empty")


def test_clip_sampling_crop_and_flips():
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(300):
        idx = clip_indices(20, 5, 2, rng)
        assert len(idx) == 5 and np.all(np.diff(idx) == 2) and idx[0] >= 0 and idx[-1] <= 19
        starts.add(idx[0])
    assert starts == set(range(0, 12))
    with pytest.raises(RealBasicVSRError):
        clip_indices(4, 5, 1, rng)
    frames = np.arange(3 * 40 * 50 * 3).reshape(3, 40, 50, 3)
    for _ in range(50):
        c = random_crop(frames, 16, rng, align=4)
        assert c.shape == (3, 16, 16, 3)
        top, left = np.argwhere(frames[0, :, :, 0] == c[0, 0, 0, 0])[0]
        assert top % 4 == 0 and left % 4 == 0
        np.testing.assert_array_equal(c, frames[:, top:top + 16, left:left + 16])
    with pytest.raises(RealBasicVSRError, match="smaller"):
        random_crop(frames, 64, rng)
    x = np.arange(2 * 3 * 4 * 1).reshape(2, 3, 4, 1)
    np.testing.assert_array_equal(random_flips(x, rng, 1, 0, 0), x[:, :, ::-1])
    np.testing.assert_array_equal(random_flips(x, rng, 0, 1, 0), x[:, ::-1])
    np.testing.assert_array_equal(random_flips(x, rng, 0, 0, 1), x.transpose(0, 2, 1, 3))
    seen = {random_flips(x, rng).tobytes() for _ in range(200)}
    assert len(seen) == 8  # all flip/transpose combinations occur
