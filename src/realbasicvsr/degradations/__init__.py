"""Real-world LQ synthesis (RealBasicVSR's second-order degradations with the stochastic scheme).

``DegradationPipeline(config)(clip, rng, mirror=True) -> (lq, gt_sharpened)``; settings in
:mod:`.config`, kernels in :mod:`.kernels`, single operations in :mod:`.ops`.
"""

from .config import DegradationConfig, load_degradation_config
from .pipeline import ClipDegrader, DegradationPipeline, RandomWalk, mirror_sequence

__all__ = [
    "ClipDegrader",
    "DegradationConfig",
    "DegradationPipeline",
    "RandomWalk",
    "load_degradation_config",
    "mirror_sequence",
]
