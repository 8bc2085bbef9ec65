"""Cost and memory planning: analytic FLOPs vs the reference's counts, automatic chunk and tile sizes."""

from __future__ import annotations

import pytest

from realbasicvsr.models import ArchConfig
from realbasicvsr.cost import fit_window, gflops_per_frame, output_bytes, window_bytes

C64 = ArchConfig()


def test_flops_match_the_reference_count():
    # MMagic's RealBasicVSRNet (mmagic/models/editors/real_basicvsr/real_basicvsr_net.py), counted conv by conv:
    # 180x320 LR, T=10, one cleaning pass: 746.6 GFLOP per output frame
    assert gflops_per_frame(C64, 180, 320, 10) == pytest.approx(746.6, rel=2e-3)


def test_small_frames_need_neither_tiles_nor_shorter_chunks():
    assert fit_window(C64, 120, 160, 24, 4, 8 << 30, 0, 16, auto_chunk=True, auto_tile_size=True) == (0, 24)


def test_big_frames_get_shorter_chunks_and_tiles_that_fit_the_budget():
    budget = 8 << 30
    tile, chunk = fit_window(C64, 1080, 1920, 24, 4, budget, 0, 16, auto_chunk=True, auto_tile_size=True)
    assert 8 <= chunk < 24 and 0 < tile < 1080
    window = chunk + 2 * 4
    assert output_bytes(1080, 1920, window) <= budget // 2 or chunk == 8
    assert window_bytes(C64, tile, tile, window) <= budget


def test_explicit_choices_are_kept():
    assert fit_window(C64, 1080, 1920, 30, 2, 1 << 30, 200, 16, auto_chunk=False, auto_tile_size=True) == (200, 30)
    assert fit_window(C64, 1080, 1920, 30, 2, 1 << 30, 0, 16, auto_chunk=False, auto_tile_size=False) == (0, 30)
