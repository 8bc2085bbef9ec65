"""Chunking and tiling: exactness with one chunk, measured closeness otherwise, bounded buffering."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from upscale_media import SMALL_WEIGHTS, frame, psnr, write_frames

from realbasicvsr import load_model
from realbasicvsr.models import ForwardState, RealBasicVSRNet
from realbasicvsr.inference import EngineOptions, OutputOptions, Upscaler, upscale_file
from realbasicvsr.inference.engine import iter_windows, run_tiled, tile_starts
from realbasicvsr.io import read_image


@pytest.fixture(scope="module")
def model():
    return load_model(SMALL_WEIGHTS)


def _run(tmp_path, model, frames_dir, name, chunk, overlap, tile=0):
    up = Upscaler(model, EngineOptions(device="cpu", tile=tile, tile_overlap=16, chunk_frames=chunk, overlap=overlap))
    out = tmp_path / name
    upscale_file(frames_dir, out, up, OutputOptions(progress=False))
    return [read_image(p) for p in sorted(out.iterdir())]


def test_windows_cover_every_frame_once_and_hold_bounded_buffers():
    held = []

    def source():
        for i in range(23):
            held.append(i)
            yield i

    seen, layout = [], []
    for w in iter_windows(source(), chunk=5, after=2):
        assert len(w.items) <= 5 + 2
        assert w.items == list(range(w.start, w.start + len(w.items)))
        seen += w.items[w.keep]
        layout.append((w.start, w.start + len(w.items), w.write_start, w.write_stop))
        # the generator never reads further ahead than this window needs
        assert len(held) <= w.write_stop + 2
    assert seen == list(range(23))
    # context only after each chunk: the forward state is carried, so no window re-reads earlier frames
    assert layout == [(0, 7, 0, 5), (5, 12, 5, 10), (10, 17, 10, 15), (15, 22, 15, 20), (20, 23, 20, 23)]


def test_resume_skips_windows_and_the_first_one_gets_left_context():
    ws = list(iter_windows(iter(range(12)), chunk=4, after=1, first_window=2, before=3))
    assert [(w.index, w.start, w.items[w.keep]) for w in ws] == [(2, 5, [8, 9, 10, 11])]
    ws = list(iter_windows(iter(range(12)), chunk=4, after=1, first_window=1, before=3))
    assert [(w.index, w.start, len(w.items)) for w in ws] == [(1, 1, 8), (2, 8, 4)]


def test_one_chunk_equals_whole_sequence(tmp_path, model):
    src = write_frames(tmp_path / "in", 9)
    whole = Upscaler(model, EngineOptions(device="cpu"))([frame(i) for i in range(9)])
    chunked = _run(tmp_path, model, src, "one", chunk=9, overlap=3)
    assert all(np.array_equal(a, b) for a, b in zip(whole, chunked))


def test_carried_forward_state_is_exact(model):
    """With right context reaching the end of the clip, chunking changes nothing: the forward branch's
    state crosses chunk borders bit for bit (only the backward branch is ever approximated)."""
    frames = [frame(i) for i in range(11)]
    whole = Upscaler(model, EngineOptions(device="cpu"))(frames)
    up = Upscaler(model, EngineOptions(device="cpu", chunk_frames=3, overlap=11))
    chunks = list(up.stream(frames))
    assert [c.start for c in chunks] == [0, 3, 6, 9]
    assert all(np.array_equal(a, b) for a, b in zip(whole, [f for c in chunks for f in c.frames]))


def test_chunked_close_to_whole_sequence(tmp_path, model):
    """Measured on 20 frames of 48x64 with chunks of 5: 33.9 dB without context, 38.0 dB with 2, 42.6 dB
    with 4, 52.4 dB with 8 context frames (the default); 47.0 dB for chunks of 8 with 4."""
    n = 14
    src = write_frames(tmp_path / "in", n)
    whole = Upscaler(model, EngineOptions(device="cpu"))([frame(i) for i in range(n)])
    chunked = _run(tmp_path, model, src, "chunked", chunk=5, overlap=8)
    no_context = _run(tmp_path, model, src, "noctx", chunk=5, overlap=0)
    p_ctx = psnr(np.stack(chunked), np.stack(whole))
    p_none = psnr(np.stack(no_context), np.stack(whole))
    print(f"chunked (overlap 8) vs whole: {p_ctx:.2f} dB; no context: {p_none:.2f} dB")
    assert p_ctx >= 50.0
    assert p_none < 40.0  # context frames really help


def test_tile_starts_cover():
    assert tile_starts(100, 40, 8) == [0, 32, 60]
    assert tile_starts(30, 40, 8) == [0]
    for size, tile, ov in [(97, 32, 8), (64, 16, 4), (50, 49, 0)]:
        s = tile_starts(size, tile, ov)
        covered = np.zeros(size, bool)
        for a in s:
            covered[a:a + tile] = True
        assert covered.all() and s[-1] + tile == size


def test_tiled_blend_is_exact_for_a_pointwise_model():
    """Feathering weights sum to one: a model without spatial context is reproduced exactly."""
    x = torch.rand(1, 3, 3, 37, 53)

    def fn(t, _tile_index):
        return torch.nn.functional.interpolate(t.flatten(0, 1), scale_factor=4, mode="nearest").unflatten(0, t.shape[:2]) * 2

    torch.testing.assert_close(run_tiled(fn, x, tile=16, overlap=6), fn(x, 0))


def test_tiled_close_to_untiled(tmp_path, model):
    """Measured: ~45 dB for 24-px tiles with 16-px overlap on 48x64 frames."""
    n = 6
    src = write_frames(tmp_path / "in", n)
    whole = Upscaler(model, EngineOptions(device="cpu"))([frame(i) for i in range(n)])
    tiled = _run(tmp_path, model, src, "tiled", chunk=n, overlap=0, tile=32)
    p = psnr(np.stack(tiled), np.stack(whole))
    print(f"tiled (32 px, overlap 16) vs untiled: {p:.2f} dB")
    assert p >= 40.0


def _counting(model):
    """Count the frames the cleaning module and the flow network see (forward pre-hooks on both)."""
    seen = {"cleaned": 0, "pairs": 0}
    hooks = [
        model.image_cleaning.register_forward_pre_hook(lambda m, a: seen.__setitem__("cleaned", seen["cleaned"] + len(a[0]))),
        model.basicvsr.spynet.register_forward_pre_hook(lambda m, a: seen.__setitem__("pairs", seen["pairs"] + len(a[0]))),
    ]
    return seen, hooks


def _noisy_frames(n: int) -> list[np.ndarray]:
    """Moving frames with noise that grows along the clip, so the cleaning residue differs window by window."""
    rng = np.random.default_rng(0)
    return [np.clip(frame(i).astype(np.float32) + rng.normal(0, 1 + 2.5 * i, frame(i).shape), 0, 255).astype(np.uint8)
            for i in range(n)]


def _stream(model, frames, **opts):
    up = Upscaler(model, EngineOptions(device="cpu", **opts))
    return [f for c in up.stream(frames) for f in c.frames]


@pytest.mark.parametrize("tile", [0, 32])
def test_right_context_is_cleaned_and_flowed_once_with_the_same_output(model, monkeypatch, tile):
    """The next window starts with the previous window's right context: its cleaning and backward flows are
    carried in the state, so every frame is cleaned once and every flow pair computed once per direction
    (as on the whole clip), and the frames are those of recomputing them, but for rounding: a conv over 8
    frames rounds a frame's numbers unlike one over 3 (1.5e-7 measured), which moves the odd pixel by one
    level (reusing the wrong frames or flows moves thousands)."""
    n, frames = 16, _noisy_frames(16)
    seen, hooks = _counting(model)
    try:
        reused = _stream(model, frames, chunk_frames=5, overlap=3, tile=tile, tile_overlap=8)
        counted = dict(seen)
        seen.update(cleaned=0, pairs=0)
        with monkeypatch.context() as m:
            m.setattr(ForwardState, "reusable", lambda self, lrs, ahead: 0)
            recomputed = _stream(model, frames, chunk_frames=5, overlap=3, tile=tile, tile_overlap=8)
    finally:
        for h in hooks:
            h.remove()
    tiles = 1 if not tile else len(tile_starts(48, 32, 8)) * len(tile_starts(64, 32, 8))
    assert counted == {"cleaned": n * tiles, "pairs": 2 * (n - 1) * tiles}
    # windows [0,8) [5,13) [10,16) [15,16): 8 + 8 + 6 + 1 frames, 7 + 7 + 5 + 0 backward pairs
    assert seen == {"cleaned": 23 * tiles, "pairs": (19 + n - 1) * tiles}
    diff = np.abs(np.stack(reused).astype(int) - np.stack(recomputed))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-4


def test_reuse_follows_the_cleaning_passes_of_each_window(model, monkeypatch):
    """With a threshold that stops some windows after one cleaning pass and not others, the carried
    cleaning takes the same stop decisions as cleaning every window from scratch, so the frames match."""
    frames = _noisy_frames(16)
    passes = []
    clean = RealBasicVSRNet._clean

    def recording(self, lqs, known=None):
        out = clean(self, lqs, known)
        passes.append(out[1])
        return out

    with torch.no_grad():
        x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div(255)[None]
        means = [model.image_cleaning(x[0, i:i + 8]).abs().mean().item() for i in (0, 5, 10)]
    monkeypatch.setattr(model, "dynamic_refine_thres", (means[0] + means[2]) / 2)
    monkeypatch.setattr(RealBasicVSRNet, "_clean", recording)
    reused = _stream(model, frames, chunk_frames=5, overlap=3)
    assert 1 in passes and max(passes) > 1, passes
    monkeypatch.setattr(ForwardState, "reusable", lambda self, lrs, ahead: 0)
    recomputed = _stream(model, frames, chunk_frames=5, overlap=3)
    diff = np.abs(np.stack(reused).astype(int) - np.stack(recomputed))  # rounding only: see the test above
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-4
