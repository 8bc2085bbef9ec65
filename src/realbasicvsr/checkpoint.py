"""Reading and writing generator checkpoints: MMagic/MMEditing files, bare state dicts, safetensors.

Everything is loaded with ``weights_only=True`` (or safetensors): a file that needs arbitrary
unpickling is refused. Architecture sizes are inferred from the tensors, so any width/depth loads.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_write
from .errors import RealBasicVSRError
from .hub import MODEL_ZOO, ZooEntry, basicsr_basicvsr_file, cache_dir, file_sha256, resolve_zoo_file
from .models import Interpolation, RealBasicVSRNet
from .models.config import ArchConfig
from .models.loading import load_strict
from .report import SettingError

# Prefixes of MMagic/MMEditing training checkpoints; everything but the chosen generator is ignored.
_GENERATOR_PREFIXES = {True: ("generator_ema.", "generator."), False: ("generator.", "generator_ema.")}
_ANCHOR = "image_cleaning.0.main.0.weight"
# Plain-data numpy types some training frameworks leave in checkpoint metadata: safe to rebuild.
_SAFE_NUMPY = [np.dtype, np.ndarray] + sorted({type(np.dtype(c)) for c in "?bBhHiIlLqQefdgFDGU"}, key=str)
try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct, scalar  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar  # type: ignore[attr-defined,no-redef]
_SAFE_NUMPY += [scalar, _reconstruct]


def read_checkpoint(path: str | Path) -> dict:
    """The raw object stored in ``path`` (a dict), read without executing pickled code."""
    path = Path(path)
    if path.is_dir():
        raise RealBasicVSRError(f"{path} is a directory, not a checkpoint file")
    if not path.is_file():
        raise RealBasicVSRError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise RealBasicVSRError(f"{path} is empty, not a checkpoint")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(path)))
        except (SafetensorError, OSError, ValueError) as e:
            raise RealBasicVSRError(f"{path} is not a readable safetensors file ({_brief(e)})") from e
    try:
        with torch.serialization.safe_globals(_SAFE_NUMPY):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a damaged or foreign file can make the unpickler fail in many ways
        # torch's weights-only unpickler names what it refused: "GLOBAL mod.name" or "but got <class ...>".
        refused = isinstance(e, pickle.UnpicklingError) and re.search(
            r"GLOBAL ([\w.]+)|but got <class '([\w.]+)'>", str(e)
        )
        if refused:
            raise RealBasicVSRError(
                f"{path} contains a pickled Python object ({refused.group(1) or refused.group(2)}) that is "
                "not plain data; refused to unpickle it (it could run arbitrary code). If you trust the "
                "file, re-save only its tensors (e.g. its state_dict) with torch.save and load that"
            ) from e
        detail = f": {_brief(e)}" if isinstance(e, (RuntimeError, OSError)) else ""
        raise RealBasicVSRError(
            f"{path} is not a readable PyTorch checkpoint (truncated, corrupt or another kind of file){detail}"
        ) from e
    if not isinstance(obj, dict):
        raise RealBasicVSRError(f"{path} holds a {type(obj).__name__}, not a checkpoint dict")
    return obj


def generator_state_dict(obj: dict, *, use_ema: bool = True, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The generator's tensors from any supported layout, keys without prefixes.

    Layouts: ``{"state_dict": {...}}`` (MMagic/MMEditing, with ``generator[_ema].*`` keys), a flat dict
    with those prefixes, BasicSR's ``params[_ema]``, or a bare generator state dict (``module.`` stripped).
    ``use_ema`` prefers ``generator_ema.*``/``params_ema``; when a file has no EMA weights the plain
    generator is used.
    """
    sd = obj
    for key in ("state_dict", "params_ema" if use_ema else "params", "params", "params_ema"):
        if isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    tensors = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    for prefix in _GENERATOR_PREFIXES[use_ema]:
        picked = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if picked:
            tensors = picked
            break
    if tensors and all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    if _ANCHOR not in tensors:
        raise RealBasicVSRError(
            f"{source} is not a RealBasicVSR generator checkpoint: no {_ANCHOR!r} "
            f"(found {len(tensors)} tensors{', e.g. ' + repr(next(iter(tensors))) if tensors else ''})"
        )
    return tensors


# the fixed output sharpening's weight (BasicVSRNet.sharpen): present only in checkpoints that have one
SHARPEN_KEY = "basicvsr.output_sharpen"
# the head's supersampling factor (BasicVSRNet's ``supersample``): present only in checkpoints that have one
SUPERSAMPLE_KEY = "basicvsr.supersample"
# one-number buffers, kept fp32 when a checkpoint is converted to fp16
_SCALAR_KEYS = (SHARPEN_KEY, SUPERSAMPLE_KEY)


def infer_config(sd: dict[str, torch.Tensor]) -> ArchConfig:
    """Constructor sizes read off the tensors' names and shapes.

    ``mid_channels``, ``num_propagation_blocks`` and ``num_cleaning_blocks`` as in the reference;
    ``head_channels`` from ``basicvsr.conv_hr`` (else ``conv_last``; 64 when neither is there); ``upscale``
    from the head's keys: ``upsample2`` present means 4, only ``upsample1`` (outputting 4 x head channels)
    means 2, neither (with ``conv_hr`` taking mid_channels inputs) means 1. A head that fits none of these
    is taken as the reference x4, so that loading it names what is missing. A ``basicvsr.supersample``
    buffer divides that head's factor into ``upscale``.
    """

    def count(prefix: str) -> int:
        pat = re.compile(re.escape(prefix) + r"(\d+)\.conv1\.weight$")
        return len({int(m.group(1)) for k in sd if (m := pat.match(k))})

    def dim(key: str, axis: int) -> int | None:
        t = sd.get(key)
        return int(t.shape[axis]) if t is not None and t.dim() == 4 else None

    mid = int(sd[_ANCHOR].shape[0])
    head = dim("basicvsr.conv_hr.weight", 0) or dim("basicvsr.conv_last.weight", 1) or 64
    up1 = dim("basicvsr.upsample1.upsample_conv.weight", 0)
    if "basicvsr.upsample2.upsample_conv.weight" in sd:
        head_scale = 4
    elif up1 is not None:
        head_scale = 2 if up1 == 4 * head else 4
    else:
        head_scale = 1 if dim("basicvsr.conv_hr.weight", 1) == mid else 4
    supersample = supersample_factor(sd, head_scale)
    return ArchConfig(
        mid_channels=mid,
        num_propagation_blocks=count("basicvsr.backward_resblocks.main.2."),
        num_cleaning_blocks=count("image_cleaning.0.main.2."),
        upscale=head_scale // supersample,
        head_channels=head,
        output_sharpen=sharpen_weight(sd),
        supersample=supersample,
    )


def supersample_factor(sd: dict[str, torch.Tensor], head_scale: int) -> int:
    """The head's supersampling factor a state dict carries (1 without one); anything but one whole number
    that divides ``head_scale`` is an error that names the key."""
    t = sd.get(SUPERSAMPLE_KEY)
    if t is None:
        return 1
    value = float(t.reshape(-1)[0]) if t.numel() == 1 else None
    if value is None or not value.is_integer() or value < 1 or head_scale % int(value):
        shown = "shape " + str(tuple(t.shape)) if value is None else repr(value)
        raise RealBasicVSRError(f"{SUPERSAMPLE_KEY} must be one whole number that divides the head's factor "
                                f"({head_scale}), got {shown}")
    return int(value)


def sharpen_weight(sd: dict[str, torch.Tensor]) -> float:
    """The output sharpening's weight a state dict carries (0.0 without one); anything but one finite number
    >= 0 is an error that names the key, before a model is built from it."""
    t = sd.get(SHARPEN_KEY)
    if t is None:
        return 0.0
    value = float(t.reshape(-1)[0]) if t.numel() == 1 else None
    if value is None or not math.isfinite(value) or value < 0:
        shown = "shape " + str(tuple(t.shape)) if value is None else repr(value)
        raise RealBasicVSRError(f"{SHARPEN_KEY} must be one finite number >= 0 (the output sharpening's "
                                f"weight), got {shown}")
    return value


def build_from_state_dict(
    sd: dict[str, torch.Tensor], *, dynamic_refine_thres: float | None = None, source: str = "checkpoint"
) -> RealBasicVSRNet:
    """A RealBasicVSRNet with ``sd`` loaded strictly; any mismatch is one error naming what is wrong."""
    cfg = infer_config(sd)
    model = cfg.build(dynamic_refine_thres)
    load_strict(model, sd, what=f"RealBasicVSRNet({_fmt(cfg)})", source=source)
    return model


def resolve_source(source: str | os.PathLike, *, progress: bool = True) -> Path:
    """A local checkpoint path for a file path or a model-zoo name (downloaded on first use)."""
    path = Path(source)
    if path.exists():
        return path
    if str(source) in MODEL_ZOO:
        entry = MODEL_ZOO[str(source)]
        return composed_zoo_file(entry) if entry.basicvsr else resolve_zoo_file(entry.name, progress=progress)
    if path.suffix or os.sep in str(source) or "/" in str(source):
        raise RealBasicVSRError(f"checkpoint not found: {source}")
    known = ", ".join(MODEL_ZOO)
    raise RealBasicVSRError(f"unknown model {str(source)!r}: not a file and not in the model zoo ({known})")


def composed_zoo_file(entry: ZooEntry) -> Path:
    """A zoo model made of its bundled cleaning module and BasicSR's BasicVSR (``entry.basicvsr``, sha256-checked)
    as one fp32 safetensors file in the cache, written once (atomically) and named by the cleaning's hash."""
    cleaning = resolve_zoo_file(entry.name)
    dst = cache_dir() / "checkpoints" / f"{entry.name}-{file_sha256(cleaning)[:8]}.safetensors"
    if dst.is_file():
        return dst
    from safetensors.torch import save_file

    base = basicsr_basicvsr_file(entry.basicvsr, needed_by=entry.name)
    sd = read_checkpoint(cleaning) | basicsr_basicvsr_to_realbasicvsr(read_checkpoint(base), source=str(base))
    model = build_from_state_dict(sd, source=f"model {entry.name!r} ({cleaning.name} + {base.name})")
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "realbasicvsr-generator", "config": json.dumps(infer_config(sd).network_kwargs()),
            "source": f"{cleaning.name} + {base.name}"}
    dst.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(dst, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    return dst


def load_model(
    source: str | os.PathLike,
    *,
    device: str | torch.device = "cpu",
    use_ema: bool = True,
    dynamic_refine_thres: float | None = None,
    progress: bool = True,
) -> RealBasicVSRNet | Interpolation:
    """A RealBasicVSRNet in eval mode from a model-zoo name or a checkpoint file (or, for the zoo's
    ``bicubic``/``lanczos``, a parameter-free ``Interpolation`` with the same interface).

    ``dynamic_refine_thres`` is in the reference's 0-255 units (None keeps 255: one cleaning pass).
    """
    entry = MODEL_ZOO.get(str(source))
    if entry is not None and entry.interpolation and not Path(source).exists():
        return entry.config.build().to(device).eval()
    path = resolve_source(source, progress=progress)
    sd = generator_state_dict(read_checkpoint(path), use_ema=use_ema, source=str(path))
    model = build_from_state_dict(sd, dynamic_refine_thres=dynamic_refine_thres, source=str(path))
    return model.to(device).eval()


def convert_checkpoint(
    src: str | os.PathLike, dst: str | os.PathLike, *, use_ema: bool = True, overwrite: bool = False,
    half: bool = False, sharpen: float | None = None,
) -> Path:
    """Write the generator (EMA by default) of ``src`` as a standalone .safetensors file, atomically.

    ``half`` stores fp16 tensors (half the size; loading converts back to fp32). ``sharpen`` sets the weight
    of the fixed output unsharp mask (``BasicVSRNet.sharpen``; 0 removes it, None keeps the input's)."""
    from safetensors.torch import save_file

    dst = Path(dst)
    if dst.suffix != ".safetensors":
        raise RealBasicVSRError(f"output must end in .safetensors: {dst}")
    if dst.exists() and not overwrite:
        raise SettingError(f"{dst} exists; pass `overwrite` to replace it")
    path = resolve_source(src)
    if path.resolve() == dst.resolve():
        raise RealBasicVSRError("input and output are the same file")
    sd = generator_state_dict(read_checkpoint(path), use_ema=use_ema, source=str(path))
    if sharpen is not None:
        if not (math.isfinite(sharpen) and sharpen >= 0):
            raise RealBasicVSRError(f"the output sharpening weight must be a number >= 0, got {sharpen}")
        sd = {k: v for k, v in sd.items() if k != SHARPEN_KEY}
        if sharpen > 0:
            sd[SHARPEN_KEY] = torch.tensor([float(sharpen)])
    model = build_from_state_dict(sd, source=str(path))  # validates before writing anything
    dtype = torch.float16 if half else torch.float32
    # the one-number buffers stay fp32: fp16 would round the sharpening weight
    tensors = {k: v.detach().to(torch.float32 if k in _SCALAR_KEYS else dtype).contiguous().clone()
               for k, v in model.state_dict().items()}
    meta = {"format": "realbasicvsr-generator", "config": json.dumps(infer_config(sd).network_kwargs()), "source": path.name}
    atomic_write(dst, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    return dst


# BasicSR's BasicVSR (basicsr/archs/basicvsr_arch.py) -> MMagic's BasicVSRNet inside RealBasicVSRNet: the
# same network, renamed (the prefixes are disjoint).
_BASICSR_BASICVSR_RENAMES = (
    ("backward_trunk.", "basicvsr.backward_resblocks."),
    ("forward_trunk.", "basicvsr.forward_resblocks."),
    ("upconv1.", "basicvsr.upsample1.upsample_conv."),
    ("upconv2.", "basicvsr.upsample2.upsample_conv."),
    ("fusion.", "basicvsr.fusion."),
    ("conv_hr.", "basicvsr.conv_hr."),
    ("conv_last.", "basicvsr.conv_last."),
    ("spynet.", "basicvsr.spynet."),
)
# BasicSR's SPyNet levels are Sequentials with ReLUs between the convs (at 0, 2, ..., 8); ours name conv j.
_BASICSR_SPYNET_CONV = re.compile(r"^(basicvsr\.spynet\.basic_module\.\d+\.basic_module\.)(\d+)\.(weight|bias)$")


def basicsr_basicvsr_to_realbasicvsr(obj: dict, *, source: str = "BasicVSR checkpoint") -> dict[str, torch.Tensor]:
    """BasicSR's whole BasicVSR x4 (``params``/``params_ema`` or bare; SPyNet, both trunks, fusion, upconvs,
    ``conv_hr``, ``conv_last``) as ``basicvsr.*`` keys of a RealBasicVSRNet: put a cleaning module in front
    (``image_cleaning.*``) and it loads. The two networks compute the same thing (tested against BasicSR's
    own forward); a file with any other tensor is an error naming it."""
    sd = obj.get("params_ema", obj.get("params", obj))
    if not isinstance(sd, dict):
        raise RealBasicVSRError(f"{source} is not a BasicSR BasicVSR checkpoint (no params dict)")
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        new = next((to + key[len(frm):] for frm, to in _BASICSR_BASICVSR_RENAMES if key.startswith(frm)), None)
        if new is None or not isinstance(value, torch.Tensor):
            raise RealBasicVSRError(f"{source} is not a BasicSR BasicVSR checkpoint: unexpected entry {key!r}")
        m = _BASICSR_SPYNET_CONV.match(new)
        if m:
            new = f"{m[1]}{int(m[2]) // 2}.conv.{m[3]}"
        out[new] = value
    if "basicvsr.backward_resblocks.main.0.weight" not in out:
        raise RealBasicVSRError(f"{source} is not a BasicSR BasicVSR checkpoint: no 'backward_trunk.main.0.weight'")
    return out


def _fmt(cfg: ArchConfig) -> str:
    return ", ".join(f"{k}={v}" for k, v in cfg.network_kwargs().items())


def _brief(e: BaseException) -> str:
    """The first sentence of an exception's message, on one line (library messages can be paragraphs)."""
    text = " ".join(str(e).split())
    text = text.split(". ")[0][:160]
    return text or type(e).__name__
