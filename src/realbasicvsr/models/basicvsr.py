"""BasicVSR (Chan et al., CVPR 2021): bidirectional recurrent propagation with SPyNet alignment.

The reference head is x4; x2 and x1 heads (fewer pixel-shuffle stages) are additions of this package.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import PixelShufflePack, ResidualBlocksWithInputConv, conv_fused, eager_inference
from .flow import flow_warp
from .spynet import SPyNet


@dataclass
class ForwardState:
    """The forward branch after the last frame a window wrote, carried into the next window, and the work
    already done on that window's right context (the next window's first frames), so it is not redone."""

    feat: torch.Tensor  # (N, C, H, W): its propagated feature
    lr: torch.Tensor  # (N, 3, H, W): that frame's input, for the flow to the next window's first frame
    ahead: torch.Tensor | None = None  # (N, K, 3, H, W): the inputs of the K frames after it in the window
    ahead_flows: torch.Tensor | None = None  # (N, K-1, 2, H, W): the backward flows between those frames
    ahead_raw: torch.Tensor | None = None  # RealBasicVSR: those frames before cleaning (``ahead`` is after)
    ahead_residue: torch.Tensor | None = None  # RealBasicVSR: (N, K) fp32, their cleaning residues' abs sums

    def tensors(self) -> dict[str, torch.Tensor]:
        """The fields that are set, by name (what a resume file stores)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def to(self, device: torch.device) -> "ForwardState":
        """On ``device``; the feature and frame in fp32 (exact from bf16/fp16), the rest as computed."""
        moved = {k: v.to(device) for k, v in self.tensors().items()}
        moved["feat"], moved["lr"] = moved["feat"].float(), moved["lr"].float()
        return ForwardState(**moved)

    def reusable(self, lrs: torch.Tensor, ahead: torch.Tensor | None) -> int:
        """How many first frames of ``lrs`` are the ``ahead`` frames (0 unless all of them are, unchanged)."""
        if ahead is None or ahead.shape[1] == 0 or ahead.shape[1] > lrs.shape[1]:
            return 0
        k = ahead.shape[1]
        same = ahead.shape == lrs[:, :k].shape and ahead.device == lrs.device
        return k if same and torch.equal(lrs[:, :k], ahead.to(lrs.dtype)) else 0


# One head stage: a 3x3 conv, its activation (or None), then a pixel shuffle by this factor (1: none). The
# activation is pointwise, so applying it before the shuffle instead of after gives the same numbers.
HeadStage = tuple[nn.Conv2d, "nn.Module | None", int]


def _conv_rows(stage: HeadStage, x: torch.Tensor, x_top: int, height: int, top: int, bottom: int) -> torch.Tensor:
    """Rows ``[top, bottom)`` of the 3x3 conv + activation of ``stage`` applied to X, where X has ``height``
    rows and ``x`` holds its rows from ``x_top`` on. Zero padding applies only at X's own edges, so the strip
    equals that part of the whole-image result."""
    conv, act, _ = stage
    lo, hi = max(top - 1, 0), min(bottom + 1, height)
    part = x[:, :, lo - x_top:hi - x_top]
    if top == 0 or bottom == height:  # an image edge: pad both ends, drop the row computed past the cut
        return conv_fused(conv, part, act, padding=(1, 1))[:, :, top - lo:bottom - lo]
    return conv_fused(conv, part, act, padding=(0, 1))


def _head_rows(stages: list[HeadStage], x: torch.Tensor, top: int, bottom: int) -> torch.Tensor:
    """Output rows ``[top, bottom)`` of the head ``stages`` applied to ``x``.

    Works back from the wanted rows to the rows each stage needs (divided by each pixel shuffle, one more on
    each side per conv), then computes only those."""
    heights = [x.shape[-2]]  # heights[k]: rows of stage k's input
    for _, _, shuffle in stages:
        heights.append(heights[-1] * shuffle)
    wanted = [(top, bottom)]  # wanted[k]: rows of stage k's input; built from the last stage back
    for (_, _, shuffle), height in zip(reversed(stages), reversed(heights[:-1])):
        lo, hi = wanted[0]
        lo, hi = lo // shuffle, -(-hi // shuffle)  # rows of the conv's output
        wanted.insert(0, (max(lo - 1, 0), min(hi + 1, height)))
    x_top, x_bottom = wanted[0]
    x = x[:, :, x_top:x_bottom]
    for k, stage in enumerate(stages):
        lo, hi = wanted[k + 1]
        shuffle = stage[2]
        conv_lo, conv_hi = lo // shuffle, -(-hi // shuffle)
        x = _conv_rows(stage, x, x_top, heights[k], conv_lo, conv_hi)
        if shuffle > 1:
            x = F.pixel_shuffle(x, shuffle)[:, :, lo - conv_lo * shuffle:hi - conv_lo * shuffle]
        x_top = lo
    return x


class BasicVSRNet(nn.Module):
    """Video super-resolution: (N, T, 3, H, W) in [0, 1] -> (N, T, 3, s*H, s*W), not clamped (s = ``upscale``).

    The head after the fusion conv depends on ``upscale``:

    - 4 (the reference, MMagic's keys): ``upsample1`` = PixelShufflePack(C, C, 2, 3), ``upsample2`` =
      PixelShufflePack(C, head, 2, 3), ``conv_hr`` (head -> head), ``conv_last`` (head -> 3).
    - 2: ``upsample1`` = PixelShufflePack(C, head, 2, 3) and no ``upsample2``; ``conv_hr``, ``conv_last``.
    - 1: no pixel shuffle: ``conv_hr`` (C -> head, 3x3) and ``conv_last`` at the input size.

    The result is added to the bilinear x``upscale`` (align_corners=False) of the input frame (x1: the frame
    itself). ``head_channels`` is the head's width (64 in the reference and its released weights).

    ``supersample`` > 1 (not in the reference): the head above is built for ``upscale * supersample`` and its
    result is averaged over ``supersample`` x ``supersample`` blocks, so the output is x``upscale``. An x2
    model with an x4 head starts from a trained x4 model's weights (lite x2, MODEL_CARD.md). The factor is
    stored as a buffer, so a checkpoint carries it.
    """

    UPSCALES = (4, 2, 1)

    def __init__(self, mid_channels: int = 64, num_blocks: int = 30, upscale: int = 4, head_channels: int = 64,
                 output_sharpen: float = 0.0, supersample: int = 1) -> None:
        super().__init__()
        if isinstance(upscale, bool) or not isinstance(upscale, int) or upscale not in self.UPSCALES:
            raise ValueError(f"upscale must be 4, 2 or 1, got {upscale!r}")
        if (isinstance(supersample, bool) or not isinstance(supersample, int) or supersample < 1
                or upscale * supersample not in self.UPSCALES):
            raise ValueError(f"supersample must be 1 or a factor that makes upscale * supersample 4 or 2, "
                             f"got {supersample!r} with upscale {upscale}")
        if head_channels < 1:
            raise ValueError(f"head_channels must be >= 1, got {head_channels!r}")
        self.mid_channels = mid_channels
        self.upscale = upscale
        self.head_scale = upscale * supersample  # what the head upsamples by, before the averaging
        self.spynet = SPyNet()
        self.spynet.requires_grad_(False)  # frozen in the reference: gradients still flow through it
        # False: flows are computed without autograd (no gradient from the flow into the cleaning module),
        # which skips SPyNet's backward pass -- a training-time saving for small models (configs/lite_*.toml).
        self.flow_gradient = True
        # < 1: SPyNet runs on frames downscaled by this factor and its flow is upsampled back (SPyNet is most
        # of a small model's cost); 1 is the reference. See MODEL_CARD.md for what 0.5 costs in quality.
        self.flow_scale = 1.0
        # CPU inference runs the head in strips of about this many output pixels (None: whole frames). A
        # 720x1280 64-channel map is 236 MB; a 3x3 conv on 24 rows of it runs ~1.4x faster than on all of it
        # (Zen 4, docs/performance.md), which outweighs recomputing the few rows where strips meet.
        self.head_strip_pixels: int | None = 65536
        self.backward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels, num_blocks)
        self.forward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels, num_blocks)
        self.fusion = nn.Conv2d(mid_channels * 2, mid_channels, 1, 1, 0, bias=True)
        self.upsample1: PixelShufflePack | None = None
        self.upsample2: PixelShufflePack | None = None
        if self.head_scale == 4:
            self.upsample1 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
            self.upsample2 = PixelShufflePack(mid_channels, head_channels, 2, upsample_kernel=3)
        elif self.head_scale == 2:
            self.upsample1 = PixelShufflePack(mid_channels, head_channels, 2, upsample_kernel=3)
        self.conv_hr = nn.Conv2d(mid_channels if self.head_scale == 1 else head_channels, head_channels, 3, 1, 1)
        self.conv_last = nn.Conv2d(head_channels, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        if not output_sharpen >= 0:  # NaN included
            raise ValueError(f"output_sharpen must be >= 0, got {output_sharpen!r}")
        # > 0: a fixed unsharp mask on every output frame (see ``sharpen``), stored as a buffer so that a
        # checkpoint carries it; the reference has none (and no such key).
        if output_sharpen > 0:
            self.register_buffer("output_sharpen", torch.tensor([float(output_sharpen)]))
        else:
            self.output_sharpen: torch.Tensor | None = None
        if supersample > 1:
            self.register_buffer("supersample", torch.tensor([float(supersample)]))
        else:
            self.supersample: torch.Tensor | None = None

    def _flow_input(self, lrs: torch.Tensor) -> torch.Tensor:
        """The frames SPyNet sees: ``lrs`` itself, or downscaled by ``flow_scale``."""
        if self.flow_scale == 1 or lrs.shape[1] == 0:
            return lrs
        n, t, c = lrs.shape[:3]
        small = F.interpolate(lrs.flatten(0, 1), scale_factor=self.flow_scale, mode="area",
                              recompute_scale_factor=False)
        return small.view(n, t, c, *small.shape[-2:])

    def _pair_flows(self, ref: torch.Tensor, supp: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """spynet(ref[:, j], supp[:, j]) for every j, batched: (N, P, 3, h', w') pairs -> (N, P, 2, h, w)."""
        n, p = ref.shape[:2]
        if p == 0:
            return ref.new_zeros(n, 0, 2, h, w)
        flow = self.spynet(ref.flatten(0, 1), supp.flatten(0, 1))
        return self._full_size(flow, h, w).view(n, p, 2, h, w)

    def compute_flow(self, lrs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(forward, backward) flows, each (N, T-1, 2, H, W).

        backward[i] = spynet(lr_i, lr_{i+1}); forward[i] = spynet(lr_{i+1}, lr_i).
        """
        h, w = lrs.shape[-2:]
        with torch.set_grad_enabled(self.flow_gradient and torch.is_grad_enabled()):
            small = self._flow_input(lrs)
            flows_backward = self._pair_flows(small[:, :-1], small[:, 1:], h, w)
            flows_forward = self._pair_flows(small[:, 1:], small[:, :-1], h, w)
        return flows_forward, flows_backward

    @staticmethod
    def _full_size(flow: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """A flow computed on downscaled frames, resized to (h, w) with its vectors scaled to match."""
        hs, ws = flow.shape[-2:]
        if (hs, ws) == (h, w):
            return flow
        flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
        return flow * flow.new_tensor([w / ws, h / hs]).view(1, 2, 1, 1)

    def _head_stages(self) -> list[HeadStage]:
        """The head after the fusion conv, in order (see ``HeadStage``)."""
        stages: list[HeadStage] = []
        for shuffle in (self.upsample1, self.upsample2):
            if shuffle is not None:
                stages.append((shuffle.upsample_conv, self.lrelu, shuffle.scale_factor))
        return stages + [(self.conv_hr, self.lrelu, 1), (self.conv_last, None, 1)]

    def upsample(self, lr: torch.Tensor, feat_backward: torch.Tensor, feat_forward: torch.Tensor) -> torch.Tensor:
        """The head for one frame: fused features -> residual over the bilinear x``head_scale`` of ``lr``,
        averaged down to x``upscale`` when the model supersamples.

        On the CPU in eager inference (``blocks.eager_inference``), frames whose output exceeds
        ``head_strip_pixels`` are computed in horizontal strips (``_head_rows``): the same numbers, but each
        strip's maps stay in cache. GPUs get whole frames (not measured there: no GPU was available).
        """
        out = self._head(lr, conv_fused(self.fusion, torch.cat([feat_backward, feat_forward], dim=1), self.lrelu))
        k = self.head_scale // self.upscale
        return out if k == 1 else F.avg_pool2d(out, k)

    def _head(self, lr: torch.Tensor, fused: torch.Tensor) -> torch.Tensor:
        """The head's stages after the fusion, plus the bilinear x``head_scale`` of ``lr``."""
        s = self.head_scale
        base = lr if s == 1 else F.interpolate(lr, scale_factor=s, mode="bilinear", align_corners=False)
        stages = self._head_stages()
        h, w = fused.shape[-2:]
        # strips of whole LR rows (a multiple of s output rows), so neighbouring strips share no shuffled row
        rows = None if self.head_strip_pixels is None else max(1, self.head_strip_pixels // (w * s * s)) * s
        if not eager_inference() or fused.device.type != "cpu" or rows is None or rows >= h * s:
            out = fused
            for conv, act, shuffle in stages:
                out = conv_fused(conv, out, act)
                out = F.pixel_shuffle(out, shuffle) if shuffle > 1 else out
            return out + base
        base = base.clone() if s == 1 else base  # the sum is written into it, strip by strip
        for top in range(0, h * s, rows):
            bottom = min(top + rows, h * s)
            base[..., top:bottom, :] += _head_rows(stages, fused, top, bottom)
        return base

    def sharpen(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames + w * (frames - blur(frames))`` with a 7-tap Gaussian of sigma 1 (mirrored borders, as
        OpenCV's GaussianBlur), ``w = output_sharpen``; the frames as they are when there is none.

        A fixed output stage for networks trained with L1 only: their output is smoother than the ground
        truth, and a fine mask restores edge contrast at a small cost in PSNR (MODEL_CARD.md, lite x4)."""
        if self.output_sharpen is None:
            return frames
        c = frames.shape[1]
        taps = torch.exp(-torch.arange(-3.0, 4.0, device=frames.device) ** 2 / 2)
        taps = (taps / taps.sum()).to(frames.dtype)
        blur = F.pad(frames, (3, 3, 3, 3), mode="reflect")
        blur = F.conv2d(blur, taps.view(1, 1, 1, 7).expand(c, 1, 1, 7), groups=c)
        blur = F.conv2d(blur, taps.view(1, 1, 7, 1).expand(c, 1, 7, 1), groups=c)
        return frames + self.output_sharpen.to(frames.dtype) * (frames - blur)

    def _step_inputs(self, lrs: torch.Tensor):
        """A function (frame, feature) -> the propagation's input ``cat([frame, feature], 1)``.

        In eager inference it fills one preallocated buffer instead, in the convs' memory format and autocast
        dtype, so no step allocates or converts a (C + 3)-channel map."""
        if not eager_inference():
            return lambda lr, feat: torch.cat([lr, feat], dim=1)
        n, _, _, h, w = lrs.shape
        device = lrs.device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else lrs.dtype
        weight = self.backward_resblocks.main[0].weight
        layout = torch.channels_last if weight.is_contiguous(memory_format=torch.channels_last) else None
        buf = lrs.new_empty(n, 3 + self.mid_channels, h, w, dtype=dtype)
        buf = buf if layout is None else buf.contiguous(memory_format=layout)

        def fill(lr: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
            buf[:, :3].copy_(lr)
            buf[:, 3:].copy_(feat)
            return buf

        return fill

    def forward(self, lrs: torch.Tensor) -> torch.Tensor:
        return self.forward_window(lrs)[0]

    def forward_window(
        self, lrs: torch.Tensor, start: int = 0, stop: int | None = None, state: ForwardState | None = None
    ) -> tuple[torch.Tensor, ForwardState]:
        """Outputs for frames ``[start, stop)`` of a window, and the forward branch's state after ``stop - 1``.

        Frames after ``stop`` are right context (backward branch only); frames before ``start`` are left
        context (forward branch only). ``state`` continues the forward branch of the previous window as if
        its frames were part of this one, which makes chunked forward propagation exact. The head runs only
        on the written frames, into one preallocated tensor. ``forward_window(lrs)`` is ``forward(lrs)``.
        """
        n, t, _, h, w = lrs.shape
        stop = t if stop is None else stop
        if not 0 <= start < stop <= t:
            raise ValueError(f"write range [{start}, {stop}) is not inside a window of {t} frames")
        with torch.set_grad_enabled(self.flow_gradient and torch.is_grad_enabled()):
            small = self._flow_input(lrs)
            # the previous window's right context is this window's start: its backward flows are known
            k = state.reusable(lrs, state.ahead) if state is not None and start == 0 else 0
            if k > 1 and state.ahead_flows is not None and state.ahead_flows.shape[1] == k - 1:
                new = self._pair_flows(small[:, k - 1:-1], small[:, k:], h, w)
                flows_backward = torch.cat([state.ahead_flows.to(new.dtype), new], 1)
            else:
                flows_backward = self._pair_flows(small[:, start:-1], small[:, start + 1:], h, w)
            if state is None:
                flows_forward = self._pair_flows(small[:, 1:stop], small[:, :stop - 1], h, w)
            else:  # one more pair: this window's first frame against the previous window's last
                prev = self._flow_input(state.lr.unsqueeze(1))
                flows_forward = self._pair_flows(small[:, :stop], torch.cat([prev, small[:, :stop - 1]], 1), h, w)

        step_input = self._step_inputs(lrs)
        backward_feats: list[torch.Tensor | None] = [None] * (stop - start)
        feat = lrs.new_zeros(n, self.mid_channels, h, w)
        for i in range(t - 1, start - 1, -1):
            if i < t - 1:
                feat = flow_warp(feat, flows_backward[:, i - start].permute(0, 2, 3, 1))
            feat = self.backward_resblocks(step_input(lrs[:, i], feat))
            if i < stop:
                backward_feats[i - start] = feat

        out: torch.Tensor | None = None
        shift = 0 if state is None else 1  # flows_forward[i - 1 + shift] brings frame i-1's feature to frame i
        feat = torch.zeros_like(feat) if state is None else state.feat
        for i in range(stop):
            if i + shift > 0:
                feat = flow_warp(feat, flows_forward[:, i - 1 + shift].permute(0, 2, 3, 1))
            feat = self.forward_resblocks(step_input(lrs[:, i], feat))
            if i < start:
                continue
            frame = self.sharpen(self.upsample(lrs[:, i], backward_feats[i - start], feat))
            backward_feats[i - start] = None  # free memory as we go
            if out is None:
                out = frame.new_empty(n, stop - start, *frame.shape[1:])
            out[:, i - start] = frame
        ahead = flows = None
        if stop < t:  # this window's right context: the next window's first frames
            ahead, flows = lrs[:, stop:].clone(), flows_backward[:, stop - start:].clone()
        return out, ForwardState(feat, lrs[:, stop - 1].clone(), ahead, flows)
