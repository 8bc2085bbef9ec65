"""realbasicvsr: real-world video super-resolution (RealBasicVSR, CVPR 2022) in pure PyTorch."""

__version__ = "0.1.0"

from .checkpoint import load_model  # noqa: E402
from .errors import RealBasicVSRError  # noqa: E402

__all__ = ["RealBasicVSRError", "__version__", "load_model"]
