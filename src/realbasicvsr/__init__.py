"""realbasicvsr: real-world video super-resolution (RealBasicVSR, CVPR 2022) in pure PyTorch."""

__version__ = "0.1.0"

from .checkpoint import load_model  # noqa: E402
from .errors import RealBasicVSRError  # noqa: E402

__all__ = ["RealBasicVSRError", "__version__", "load_model", "upscale"]


def __getattr__(name: str):
    # `upscale` pulls in video I/O (PyAV, OpenCV): import it only when asked for.
    if name == "upscale":
        from .inference import upscale

        return upscale
    raise AttributeError(f"module 'realbasicvsr' has no attribute {name!r}")
