"""Training RealBasicVSR: typed recipes, the reference step, EMA, exact resume and torchrun DDP.

``train(load_train_config("configs/smoke.toml"), "runs/smoke")`` is the whole API; the CLI is
``realbasicvsr train CONFIG --work-dir DIR [--resume] [--set key=value ...]``.
"""

from .config import TrainConfig, load_train_config
from .initialisation import build_generator
from .loop import TrainResult, train
from .step import training_step

__all__ = ["TrainConfig", "TrainResult", "build_generator", "load_train_config", "train", "training_step"]
