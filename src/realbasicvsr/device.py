"""Where models run: the device, its precision and this process's GPU under ``torchrun`` (one place for
inference and training)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from .report import SettingError

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an unavailable explicit choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise SettingError(f"`device` {name!r} is not a device (use auto, cpu, cuda, cuda:N or mps)") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SettingError(f"`device` {name}: CUDA is not available on this machine (try `device` cpu)")
    if dev.type == "mps" and not _mps_available():
        raise SettingError(f"`device` {name}: Apple MPS is not available on this machine")
    return dev


def process_device(name: str = "auto") -> torch.device:
    """``resolve_device``, with an unnumbered CUDA device pinned to this process's GPU under torchrun
    (``LOCAL_RANK``), so that each rank takes its own."""
    dev = resolve_device(name)
    if dev.type == "cuda" and dev.index is None and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return dev


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (x86 avx512_bf16 or AMX, read from /proc/cpuinfo): only
    there is bf16 faster than fp32; elsewhere it is emulated and slower."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = {f for line in text.splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def auto_precision(device: torch.device) -> str:
    """``precision="auto"``: fp16 on CUDA, bf16 on CPUs with native bf16, fp32 elsewhere (MPS included)."""
    if device.type == "cuda":
        return "fp16"
    if device.type == "cpu" and cpu_has_native_bf16():
        return "bf16"
    return "fp32"


def resolve_precision(name: str, device: torch.device) -> str:
    """The precision a run on ``device`` uses for ``name`` (``auto`` or one of PRECISIONS), checked."""
    precision = auto_precision(device) if name == "auto" else name
    if precision not in PRECISIONS:
        raise SettingError(f"unknown `precision` {precision!r}; choose fp32, fp16 or bf16")
    if precision == "fp16" and device.type == "cpu":
        raise SettingError("fp16 is not supported on the CPU; use fp32 or bf16")
    return precision
