"""The generator and discriminator a run starts from: built from ``[model]``, initialised from a checkpoint
(exactly, or partially: a new head, more residual blocks, more channels) or with pretrained SPyNet weights.

Growing a model keeps what the init computes: new residual blocks start as identity and new channels start
disconnected from the old ones, so training continues from the init's function rather than from noise.
"""

from __future__ import annotations

import torch
from torch import nn

from ..checkpoint import (SHARPEN_KEY, generator_state_dict, infer_config, read_checkpoint, resolve_source,
                          sharpen_weight)
from ..errors import RealBasicVSRError
from ..models import RealBasicVSRNet, ResidualBlockNoBN
from ..models.loading import load_strict
from ..pretrained import load_spynet_weights
from .config import TrainConfig
from .progress import Say


def build_generator(config: TrainConfig, log: Say = lambda s: None, *,
                    pretrained: bool = True) -> RealBasicVSRNet:
    """The generator of ``config.model``, initialised from ``init`` or with pretrained SPyNet weights
    (``pretrained=False``: random weights, e.g. before a resumed checkpoint overwrites them)."""
    m = config.model
    g = m.arch.build(m.dynamic_refine_thres)
    g.basicvsr.flow_gradient = m.flow_gradient
    if not pretrained:
        return g
    if m.init:
        path = resolve_source(m.init)
        sd = generator_state_dict(read_checkpoint(path), use_ema=True, source=str(path))
        if SHARPEN_KEY in sd:  # a fixed output stage, set at convert time: the network trains without it
            log(f"model.init {m.init}: its output sharpening ({sharpen_weight(sd):g}) is not part of training; "
                "add it back with realbasicvsr convert --sharpen")
            del sd[SHARPEN_KEY]
        own = g.state_dict()
        if m.init_partial:
            fit = {k: v for k, v in sd.items() if k in own and own[k].shape == v.shape}
            wider = _widened(sd, own, m.mid_channels)
            if not fit and not wider:
                raise RealBasicVSRError(f"model.init {m.init}: no tensor matches this model's names and shapes")
            g.load_state_dict({**own, **{k: v.float() for k, v in fit.items()}, **wider})
            grown = _identity_new_blocks(g, {**fit, **wider})
            log(f"initialised {len(fit)} of {len(own)} tensors from {path}"
                + (f", widened {len(wider)}" if wider else "")
                + (f"; {grown} new residual blocks start as identity" if grown else ""))
        else:
            load_strict(g, sd, what="the generator [model] describes", source=f"model.init {path}",
                        hint="; it is another architecture than [model]: set model.init_partial = true to copy "
                             "only the matching tensors")
            log(f"initialised from {path}")
    elif m.spynet != "none":
        log(load_spynet_weights(g, m.spynet))
    return g


def _widened(sd: dict[str, torch.Tensor], own: dict[str, torch.Tensor], mid: int) -> dict[str, torch.Tensor]:
    """Tensors of a narrower init (fewer feature channels) placed into this model's wider ones, so the wider
    model starts out computing the init's function exactly.

    Old channels keep their weights; the weights from new input channels into old outputs are zero, so the
    new channels cannot change the old ones until training moves those weights; new output channels keep
    this model's initialisation scaled by 0.1 (quiet until they have learnt something). Channel axes are
    matched by the network's layout: ``[frame (3), feature (mid)]`` inputs and pixel-shuffle outputs are a
    prefix, the fusion's ``[backward (mid), forward (mid)]`` input is blocks of ``mid``."""
    old_mid = infer_config(sd).mid_channels
    if old_mid >= mid:
        return {}
    out: dict[str, torch.Tensor] = {}
    for key, new in own.items():
        old = sd.get(key)
        if old is None or old.shape == new.shape or old.dim() != new.dim() or old.dim() not in (1, 4):
            continue
        # a pixel-shuffle conv's outputs are (channel, sub-pixel) pairs, channel-major: a prefix
        shuffled = key.endswith(("upsample_conv.weight", "upsample_conv.bias"))
        slots = [list(range(o)) if shuffled and axis == 0 and o < n else _channel_slots(o, n, old_mid, mid)
                 for axis, (o, n) in enumerate(zip(old.shape[:2], new.shape[:2]))]
        if any(s is None for s in slots) or old.shape[2:] != new.shape[2:]:
            continue
        grown = new * 0.1
        rows = slots[0]
        if old.dim() == 4:
            grown[rows] = 0.0
            grown[torch.meshgrid(torch.as_tensor(rows), torch.as_tensor(slots[1]), indexing="ij")] = old.float()
        else:
            grown[rows] = old.float()
        out[key] = grown
    return out


def _channel_slots(old: int, new: int, old_mid: int, mid: int) -> list[int] | None:
    """Where the ``old`` channels of a narrower tensor go among ``new``: the same index (equal sizes, or a
    constant prefix followed by the features), or block by block when the axis is k features side by side."""
    if old == new:
        return list(range(old))
    if old % old_mid == 0 and new == old // old_mid * mid:
        return [b * mid + c for b in range(old // old_mid) for c in range(old_mid)]
    if old - old_mid == new - mid >= 0:
        return list(range(old))
    return None


def _identity_new_blocks(model: nn.Module, loaded: dict[str, torch.Tensor]) -> int:
    """Zero the last conv of every residual block the init had none of, so a deeper model starts out
    computing exactly the shallower init's function (growing 4 -> 8 blocks keeps what was learnt)."""
    grown = 0
    for name, module in model.named_modules():
        if isinstance(module, ResidualBlockNoBN) and not any(k.startswith(name + ".") for k in loaded):
            nn.init.zeros_(module.conv2.weight)
            nn.init.zeros_(module.conv2.bias)
            grown += 1
    return grown


def init_discriminator(d: nn.Module, source: str, say: Say) -> None:
    """Start the discriminator from ``discriminator.*`` of the init checkpoint when it has a matching one
    (released GAN-stage files do): fine-tuning then keeps the adversary the generator was trained with."""
    path = resolve_source(source)
    prefix = "discriminator."
    sd = {k[len(prefix):]: v for k, v in read_checkpoint(path).get("state_dict", {}).items()
          if isinstance(k, str) and k.startswith(prefix)}
    own = d.state_dict()
    if sd and sd.keys() == own.keys() and all(sd[k].shape == own[k].shape for k in own):
        d.load_state_dict(sd)
        say(f"discriminator initialised from {path}")
    else:
        say(f"no matching discriminator in {path}: the discriminator starts from random weights")
