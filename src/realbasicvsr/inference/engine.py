"""The streaming engine: uint8 frames in, upscaled uint8 frames out, in one chunked loop (``Upscaler.stream``)
that owns temporal chunks, spatial tiles, precision and device.

Chunks: windows of ``chunk_frames`` written frames plus ``overlap`` context frames after them. The forward
branch's state is carried from one window to the next, so only the backward branch needs context; where no
state can be carried (the first window of a resumed run that lost it) that window also gets ``overlap``
frames before it. Memory depends on the window length, never on the video length; windows are defined in
absolute frame indices, so a resumed run processes exactly the windows an uninterrupted run would.

Tiles: each tile sees the whole window (and carries its own forward state); outputs are blended with linear
ramps across the overlap so seams are invisible (the weights sum to one everywhere).

Self-ensemble (``ensemble`` > 1): every tile of every window is also upscaled mirrored, upside down and/or
transposed (each orientation with its own forward state), turned back and averaged: n times the compute for
a steadier, slightly more faithful result.
"""

from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Callable, Generic, Iterable, Iterator, Protocol, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from ..device import PRECISIONS, resolve_device, resolve_precision
from ..errors import RealBasicVSRError
from ..models import ForwardState, RealBasicVSRNet
from ..report import Reporter, SettingError, terminal_reporter

T = TypeVar("T")

DEFAULT_CHUNK_FRAMES = 24  # frames written per window unless told otherwise


def output_size(width: int, height: int, outscale: float, even: bool = False) -> tuple[int, int]:
    """Final (W, H) for ``outscale``; ``even`` rounds to even sizes (what 4:2:0 video needs)."""
    w, h = max(1, int(round(width * outscale))), max(1, int(round(height * outscale)))
    if even:
        w, h = max(2, w - w % 2), max(2, h - h % 2)
    return w, h


ENSEMBLE_SIZES = (1, 2, 4, 8)


@dataclass
class EngineOptions:
    """How the engine runs: device, precision, spatial tiles and temporal chunks (the scheduling)."""

    device: str = "auto"
    precision: str = "auto"  # auto = fp16 on CUDA, bf16 on CPUs with native bf16, else fp32
    tile: int = 0  # 0 = no spatial tiling; else tile size in input pixels
    tile_overlap: int = 16
    outscale: float | None = None  # None = the model's own factor (model.upscale); else resized from it
    even_size: bool = False
    chunk_frames: int = DEFAULT_CHUNK_FRAMES  # frames written per window
    overlap: int = 8  # context frames after each chunk (the backward branch's look-ahead)
    ensemble: int = 1  # orientations averaged (self-ensemble): 1 off, 2 + mirrored, 4 + flipped, 8 + transposed

    def __post_init__(self) -> None:
        """Refuse a schedule the engine can't run, whoever builds the options."""
        if self.chunk_frames < 1 or self.overlap < 0:
            raise SettingError("`chunk_frames` must be >= 1 and `overlap` >= 0")
        if self.ensemble not in ENSEMBLE_SIZES:
            raise SettingError(f"`ensemble` must be one of {', '.join(map(str, ENSEMBLE_SIZES))} (orientations averaged)")
        if self.outscale is not None and not 0 < self.outscale <= 16:
            raise SettingError("`outscale` must be in (0, 16]")
        if self.tile and self.tile < 16:
            raise SettingError("`tile` must be 0 (off) or at least 16 pixels")


def orient(x: torch.Tensor, g: int) -> torch.Tensor:
    """Orientation ``g`` (0-7) of frames (..., H, W): bit 0 mirrors, bit 1 turns upside down, bit 2 transposes."""
    if g & 1:
        x = x.flip(-1)
    if g & 2:
        x = x.flip(-2)
    return x.transpose(-1, -2).contiguous() if g & 4 else x


def unorient(x: torch.Tensor, g: int) -> torch.Tensor:
    """The inverse of :func:`orient`."""
    if g & 4:
        x = x.transpose(-1, -2)
    if g & 2:
        x = x.flip(-2)
    return x.flip(-1) if g & 1 else x


@dataclass
class Chunk:
    """One window's written frames: ``frames[j]`` is the upscaled ``items[j]``, absolute index ``start + j``."""

    index: int
    start: int
    frames: list[np.ndarray]
    items: list
    state: dict[int, ForwardState] | None  # the forward state after this chunk, per tile (for resume)


class FrameUpscaler(Protocol):
    """What jobs, previews and wrappers need of an upscaler: the engine (:class:`Upscaler`) or a wrapper of
    it (``ComparingUpscaler``)."""

    options: EngineOptions
    reporter: Reporter

    def __call__(self, frames: list[np.ndarray]) -> list[np.ndarray]: ...

    def stream(self, items: Iterable, first_window: int = 0, state: dict[int, ForwardState] | None = None,
               stop_window: int | None = None, shots=None) -> Iterator[Chunk]: ...


def frame_of(item) -> np.ndarray:
    """The frame of a stream item: the item itself, or the first element of a (frame, extra...) tuple."""
    return item[0] if isinstance(item, tuple) else item


def frames_to_tensor(frames: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """uint8 (H, W, 3) RGB frames (grayscale (H, W) or (H, W, 1) replicated) -> (1, T, 3, H, W) in [0, 1]."""
    if len(frames) == 0:
        raise RealBasicVSRError("no frames to upscale (got an empty list)")
    checked = []
    for i, f in enumerate(frames):
        if not isinstance(f, np.ndarray):
            raise RealBasicVSRError(f"frame {i} is a {type(f).__name__}, not a numpy array (H, W, 3) of uint8")
        if f.dtype != np.uint8:
            raise RealBasicVSRError(
                f"frame {i} is {f.dtype}, not uint8: pass 0-255 RGB (e.g. (x * 255).round().astype(np.uint8))"
            )
        if f.ndim == 3 and f.shape[2] == 1:
            f = f[:, :, 0]
        if f.ndim == 2:
            f = np.repeat(f[:, :, None], 3, axis=2)
        if f.ndim != 3 or f.shape[2] != 3 or f.shape[0] < 1 or f.shape[1] < 1:
            raise RealBasicVSRError(f"frame {i} has shape {f.shape}; expected (H, W, 3) RGB or (H, W) grayscale")
        if checked and f.shape != checked[0].shape:
            raise RealBasicVSRError(f"frame {i} is {f.shape[1]}x{f.shape[0]}, unlike frame 0 ({checked[0].shape[1]}x{checked[0].shape[0]})")
        checked.append(f)
    arr = np.stack(checked)  # (T, H, W, 3) uint8
    return torch.from_numpy(arr).to(device).permute(0, 3, 1, 2).float().div_(255.0).unsqueeze(0)


def _all_finite(out: torch.Tensor, state: dict[int, ForwardState]) -> bool:
    return bool(torch.isfinite(out).all()) and all(
        bool(torch.isfinite(t).all()) for st in state.values() for t in st.tensors().values())


def _is_out_of_memory(e: BaseException) -> bool:
    if isinstance(e, (torch.OutOfMemoryError, MemoryError)):
        return True
    msg = str(e)
    # oneDNN (bf16 and fused convs on the CPU) reports a primitive it had no memory for as "could not create
    # a primitive"; the models' plain fallback has already run and failed the same way by then (blocks.py)
    return isinstance(e, RuntimeError) and ("can't allocate memory" in msg or "out of memory" in msg.lower()
                                            or "could not create a primitive" in msg)


class Upscaler:
    """Runs a RealBasicVSRNet over frames: uint8 (H, W, 3) RGB in, the same upscaled out.

    ``stream`` is the one chunked loop every command uses; calling the upscaler on a list of frames runs
    them as one window (the whole sequence at once). The model works at its own factor
    (``model.upscale``); an ``outscale`` other than that resizes its output.
    """

    def __init__(self, model: RealBasicVSRNet, options: EngineOptions | None = None,
                 reporter: Reporter | None = None) -> None:
        self.options = opts = options or EngineOptions()
        self.reporter = reporter or terminal_reporter()
        self.device = resolve_device(opts.device)
        self.precision = precision = resolve_precision(opts.precision, self.device)
        self.dtype = PRECISIONS[precision]
        self.model = model.eval().to(self.device)
        self.scale = model.upscale
        self.outscale = float(self.scale if opts.outscale is None else opts.outscale)
        if self.device.type in ("cuda", "cpu"):  # faster convolutions (~20% on a 2-core CPU for c64b20)
            self.model = self.model.to(memory_format=torch.channels_last)

    def _autocast(self, dtype: torch.dtype):
        if dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    @torch.inference_mode()
    def upscale_tensor(
        self, lqs: torch.Tensor, start: int = 0, stop: int | None = None, state: dict[int, ForwardState] | None = None
    ) -> tuple[torch.Tensor, dict[int, ForwardState]]:
        """(1, T, 3, H, W) float in [0, 1] -> frames ``[start, stop)`` upscaled, (1, stop-start, 3, H', W'),
        clamped to [0, 1], and the forward state after ``stop - 1`` (one per tile) for the next window.

        A window that comes out non-finite in fp16/bf16 (an overflow) is computed again in fp32, with a
        warning, so reduced precision never writes a black or broken frame."""
        out, new_state = self._upscale(lqs, start, stop, state, self.dtype)
        if self.dtype != torch.float32 and not _all_finite(out, new_state):
            self.reporter.warning(f"{self.precision} gave non-finite values in a window of {lqs.shape[1]} frames; "
                                  "computed it again in fp32")
            out, new_state = self._upscale(lqs, start, stop, state, torch.float32)
        return out.clamp_(0.0, 1.0), new_state

    def _upscale(self, lqs: torch.Tensor, start: int, stop: int | None, state: dict[int, ForwardState] | None,
                 dtype: torch.dtype) -> tuple[torch.Tensor, dict[int, ForwardState]]:
        opts = self.options
        new_state: dict[int, ForwardState] = {}

        def run(x: torch.Tensor, key: int) -> torch.Tensor:
            total = None
            for g in range(opts.ensemble):  # each orientation carries its own forward state
                k = key * opts.ensemble + g
                prev = state.get(k) if state else None
                if prev is not None:  # in fp32 (exact from bf16/fp16), so a window re-run in fp32 can take it too
                    prev = prev.to(self.device)
                with self._autocast(dtype):
                    out, st = self.model.forward_window(orient(x, g), start, stop, prev)
                if st is not None:  # plain interpolation carries nothing
                    new_state[k] = st
                out = unorient(out.float(), g)
                total = out if total is None else total.add_(out)
            return total if opts.ensemble == 1 else total.div_(opts.ensemble).contiguous()

        out = run_tiled(run, lqs, opts.tile, opts.tile_overlap, scale=self.scale) if opts.tile else run(lqs, 0)
        h, w = lqs.shape[-2:]
        ow, oh = output_size(w, h, self.outscale, opts.even_size)
        if (oh, ow) != tuple(out.shape[-2:]):
            t = out.shape[1]
            out = F.interpolate(out.flatten(0, 1), size=(oh, ow), mode="bicubic", antialias=True, align_corners=False)
            out = out.unflatten(0, (1, t))
        return out, new_state

    @torch.inference_mode()
    def window(
        self, frames: list[np.ndarray], start: int = 0, stop: int | None = None,
        state: dict[int, ForwardState] | None = None,
    ) -> tuple[list[np.ndarray], dict[int, ForwardState]]:
        """Frames ``[start, stop)`` of a window of uint8 frames, upscaled, and the state after them."""
        try:
            lqs = frames_to_tensor(frames, self.device)
            out, new_state = self.upscale_tensor(lqs, start, stop, state)
            out = out[0].mul_(255.0).round_().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        except Exception as e:
            if not _is_out_of_memory(e):
                raise
            where = "GPU" if self.device.type == "cuda" else "memory"
            raise SettingError(
                f"out of {where} upscaling {len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}: "
                "lower `chunk_frames` or use `tile` (e.g. `tile` 256)"
            ) from e
        return list(out), new_state

    def __call__(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """The whole list as one window (bidirectional over all of it)."""
        return self.window(list(frames))[0]

    def stream(
        self, items: Iterable, first_window: int = 0, state: dict[int, ForwardState] | None = None,
        stop_window: int | None = None, shots=None,
    ) -> Iterator[Chunk]:
        """Upscale a stream of frames (or (frame, extra...) tuples) chunk by chunk with bounded memory.

        Each window holds ``chunk_frames`` written frames and ``overlap`` context frames after them; the
        forward branch's state is carried from window to window, so with one window the result is the
        whole sequence at once. ``first_window``/``state`` continue an interrupted stream (its frames are
        read again from the start and skipped); without a state the first window starts ``overlap`` frames
        early instead. ``stop_window`` ends the stream before that window (one part of a video split
        across ranks). ``shots`` (``scenes.Shots``) makes every shot its own sequence: windows stop at its
        cuts and the forward state starts afresh after each.
        """
        opts = self.options
        before = opts.overlap if first_window and state is None else 0
        windows = (iter_windows(items, opts.chunk_frames, opts.overlap, first_window, before) if shots is None
                   else shots.windows(items, opts.chunk_frames, opts.overlap, first_window, before))
        for win in windows:
            if stop_window is not None and win.index >= stop_window:
                return
            if shots is not None and shots.starts_shot(win.write_start):
                state = None
            keep = win.keep
            outs, state = self.window([frame_of(x) for x in win.items], keep.start, keep.stop, state)
            yield Chunk(win.index, win.write_start, outs, win.items[keep], state)


# ---------------------------------------------------------------------------------------- temporal chunks


@dataclass(frozen=True)
class Window(Generic[T]):
    """Frames ``start .. start+len(items)-1``; only ``[write_start, write_stop)`` (absolute) are written."""

    index: int
    start: int
    items: list
    write_start: int
    write_stop: int

    @property
    def keep(self) -> slice:
        """Positions in ``items`` of the frames to write."""
        return slice(self.write_start - self.start, self.write_stop - self.start)


def iter_windows(items: Iterable[T], chunk: int, after: int, first_window: int = 0, before: int = 0) -> Iterator[Window[T]]:
    """Stream ``items`` as windows, holding at most ``before + chunk + after`` of them at once.

    ``first_window`` skips the windows before it (for resume): their frames are read and dropped; the
    first window yielded starts ``before`` frames early.
    """
    if chunk < 1 or after < 0 or before < 0:
        raise ValueError("chunk must be >= 1 and the context lengths >= 0")
    buf: deque = deque()
    buf_start = 0  # absolute index of buf[0]
    k = first_window
    it = iter(items)
    exhausted = False
    n = 0  # items read so far
    while True:
        ws, we = k * chunk, (k + 1) * chunk
        need = we + after
        while not exhausted and n < need:
            try:
                buf.append(next(it))
                n += 1
            except StopIteration:
                exhausted = True
        lo = max(0, ws - before) if k == first_window else ws
        while buf_start < lo and buf:
            buf.popleft()
            buf_start += 1
        if ws >= n:
            return
        hi = min(n, need)
        yield Window(k, lo, list(buf)[: hi - lo], ws, min(we, n))
        k += 1


# ------------------------------------------------------------------------------------------ spatial tiles


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering ``[0, size)`` with tiles of ``tile`` overlapping by at least ``overlap``."""
    if tile >= size:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, size - tile, stride)) + [size - tile]
    return sorted(set(starts))


def _ramp(length: int, lo_overlap: int, hi_overlap: int, device, dtype) -> torch.Tensor:
    """1 in the middle, rising linearly over ``lo_overlap`` and falling over ``hi_overlap`` samples."""
    w = torch.ones(length, device=device, dtype=dtype)
    if lo_overlap > 0:
        w[:lo_overlap] = (torch.arange(lo_overlap, device=device, dtype=dtype) + 0.5) / lo_overlap
    if hi_overlap > 0:
        w[length - hi_overlap:] = torch.minimum(
            w[length - hi_overlap:], (torch.arange(hi_overlap, 0, -1, device=device, dtype=dtype) - 0.5) / hi_overlap
        )
    return w


def run_tiled(
    fn: Callable[[torch.Tensor, int], torch.Tensor],
    lqs: torch.Tensor,
    tile: int,
    overlap: int,
    scale: int = 4,
) -> torch.Tensor:
    """``fn(x, k)`` maps tile ``k``'s (N, T, C, h, w) to (N, T', C, scale*h, scale*w); apply it tile by tile over
    ``lqs`` (``k`` numbers the tiles in raster order, so state kept per tile survives from window to window)."""
    n, _, _, h, w = lqs.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    if len(ys) == 1 and len(xs) == 1:
        return fn(lqs, 0)
    th, tw = min(tile, h), min(tile, w)
    out = None
    weight = None
    for iy, y in enumerate(ys):
        for ix, x in enumerate(xs):
            res = fn(lqs[..., y:y + th, x:x + tw], iy * len(xs) + ix)
            if out is None:
                out = res.new_zeros(n, res.shape[1], res.shape[2], h * scale, w * scale)
                weight = res.new_zeros(1, 1, 1, h * scale, w * scale)
            # overlap with the previous / next tile along each axis, in output pixels
            oy0 = (ys[iy - 1] + th - y) * scale if iy > 0 else 0
            oy1 = (y + th - ys[iy + 1]) * scale if iy + 1 < len(ys) else 0
            ox0 = (xs[ix - 1] + tw - x) * scale if ix > 0 else 0
            ox1 = (x + tw - xs[ix + 1]) * scale if ix + 1 < len(xs) else 0
            wy = _ramp(th * scale, oy0, oy1, res.device, res.dtype)
            wx = _ramp(tw * scale, ox0, ox1, res.device, res.dtype)
            wt = (wy[:, None] * wx[None, :])[None, None, None]
            sl = (..., slice(y * scale, (y + th) * scale), slice(x * scale, (x + tw) * scale))
            out[sl] += res * wt
            weight[sl] += wt
    return out.div_(weight)  # in place: the full-size window is the biggest buffer here
