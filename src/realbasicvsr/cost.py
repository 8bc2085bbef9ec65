"""Cost and memory estimates of an architecture: the zoo listing, ``--dry-run`` and the automatic tile size.

FLOPs are counted analytically from the architecture (2 x multiply-accumulates of every conv), which
matches the counts in the reference spec; memory is a per-window estimate of the live tensors.
"""

from __future__ import annotations

import os

import torch

from .models.config import ArchConfig

# SPyNet: 6 levels of 8->32->64->32->16->2 7x7 convs; each level runs at 1/4 the pixels of the next.
_SPYNET_MACS_PER_PIXEL = 49 * (8 * 32 + 32 * 64 + 64 * 32 + 32 * 16 + 16 * 2) * sum(4.0 ** -k for k in range(6))


def _resblocks_macs(cin: int, c: int, n: int) -> int:
    return 9 * cin * c + n * 2 * 9 * c * c


def _head_macs(c: int, head: int, scale: int) -> int:
    """Per LR pixel: fusion, the pixel-shuffle stages (each at 4x the pixels of the last), conv_hr, conv_last."""
    macs, cin, px = 2 * c * c, c, 1
    for cout in {4: (c, head), 2: (head,), 1: ()}[scale]:
        macs += px * 9 * cin * cout * 4
        cin, px = cout, px * 4
    return macs + px * 9 * (cin * head + head * 3)


def gflops_per_written_frame(
    arch: ArchConfig, height: int, width: int, chunk: int, context: int, passes: int = 1, carried: bool = True
) -> float:
    """Forward GFLOP per written frame for the streaming engine: windows of ``chunk`` written frames and
    ``context`` frames after them; cleaning, flow and the backward branch see the whole window, the forward
    branch (its state ``carried`` from the previous window) and the head only the written frames. A carried
    state also holds the previous window's right context (this window's first ``context`` frames) cleaned in
    one pass, with its backward flows, so in steady state only ``chunk`` new frames are cleaned and only
    ``chunk`` new backward pairs are computed (unless cleaning takes several ``passes``)."""
    c = arch.mid_channels
    clean = _resblocks_macs(3, c, arch.num_cleaning_blocks) + 9 * c * 3
    branch = _resblocks_macs(c + 3, c, arch.num_propagation_blocks)
    head = _head_macs(c, arch.head_channels, arch.head_scale)
    if arch.supersample > 1:  # the average over supersample x supersample blocks of the 3 output channels
        head += 3 * arch.head_scale ** 2
    if arch.output_sharpen:  # two 7-tap passes over the 3 output channels
        head += 2 * 7 * 3 * arch.upscale ** 2
    window = chunk + context
    hp, wp = (height + 31) // 32 * 32, (width + 31) // 32 * 32
    reuse = carried and passes == 1 and context > 0
    backward_pairs = chunk if reuse else window - 1
    pairs = backward_pairs + (chunk if carried else chunk - 1)
    flow = _SPYNET_MACS_PER_PIXEL * hp * wp * pairs if arch.flow else 0.0
    cleaned = chunk if reuse else window
    macs = (clean * passes * cleaned + branch * (window + chunk) + head * chunk) * height * width + flow
    return 2 * macs / 1e9 / chunk


def gflops_per_frame(arch: ArchConfig, height: int, width: int, frames: int, passes: int = 1) -> float:
    """Forward GFLOP per output frame for one window of ``frames`` LR frames of ``height`` x ``width``, all
    written (the whole sequence at once, as the reference runs)."""
    return gflops_per_written_frame(arch, height, width, frames, 0, passes, carried=False)


def cost_factor(arch: ArchConfig, chunk: int, context: int, frames: int | None) -> float:
    """How many times the compute of the whole clip at once the chunking costs (context is recomputed);
    the ratio barely depends on the frame size, so it is taken at 180x320."""
    if not arch.flow:
        return 1.0
    whole = gflops_per_frame(arch, 180, 320, max(frames or chunk, 2))
    return gflops_per_written_frame(arch, 180, 320, chunk, context) / whole


def window_bytes(arch: ArchConfig, height: int, width: int, frames: int) -> int:
    """Estimated peak bytes of live tensors for one window (tile) at fp32."""
    px, s2, h2 = height * width, arch.upscale ** 2, arch.head_scale ** 2
    per_frame = px * 4 * (arch.mid_channels + 3 * 2 + 4 * 2 + 3 * s2 * 2)  # feats, lqs, flows, upscaled outputs
    transient = px * 4 * (arch.head_channels * h2 * 2 + arch.mid_channels * 4)  # head activations, resblock temps
    return frames * per_frame + transient


def output_bytes(height: int, width: int, frames: int, scale: int = 4, ensemble: int = 1) -> int:
    """Full-size buffers of one window that tiling cannot shrink: the x``scale`` float result of its ``frames``
    written frames and their uint8 copy (with a self-ensemble, also the float sum of its orientations)."""
    return frames * scale * scale * height * width * 3 * (4 + 1 + (4 if ensemble > 1 else 0))


def fit_window(
    arch: ArchConfig, height: int, width: int, chunk: int, overlap: int, budget_bytes: int,
    tile: int, tile_overlap: int, *, auto_chunk: bool, auto_tile_size: bool, ensemble: int = 1,
) -> tuple[int, int]:
    """(tile, chunk) for a frame size: with ``auto_chunk`` the chunk shrinks until the window's full-size
    outputs take at most half the budget, but not below ``overlap`` (context frames would then cost
    too much per frame written); with ``auto_tile_size`` (and no explicit tile) a tile is picked so the
    model's working set fits what is left."""
    if auto_chunk:
        floor = max(1, overlap)
        while chunk > floor and output_bytes(height, width, chunk, arch.upscale, ensemble) > budget_bytes // 2:
            chunk -= 1
    if auto_tile_size and not tile:
        rest = budget_bytes - output_bytes(height, width, chunk, arch.upscale, ensemble)
        tile = auto_tile(arch, height, width, chunk + overlap, max(rest, budget_bytes // 4), tile_overlap)
    return tile, chunk


def auto_tile(arch: ArchConfig, height: int, width: int, frames: int, budget_bytes: int, overlap: int) -> int:
    """0 (no tiling) if a whole window fits ``budget_bytes``, else the largest tile that does."""
    if window_bytes(arch, height, width, frames) <= budget_bytes:
        return 0
    for tile in (768, 640, 512, 384, 320, 256, 192, 160, 128, 96, 64):
        th, tw = min(tile, height), min(tile, width)
        if tile > overlap * 2 and window_bytes(arch, th, tw, frames) <= budget_bytes:
            return tile
    return 64


def default_memory_budget(device_type: str) -> int:
    """Bytes the model's tensors may use: 80% of free GPU memory, or 40% of RAM capped at 12 GiB."""
    if device_type == "cuda":
        free, _ = torch.cuda.mem_get_info()
        return int(free * 0.8)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return int(min(total * 0.4, 12 << 30))
