"""Training data: frame sequences (REDS, frame folders, videos), clip sampling and augmentation, and the
dataset that synthesises LQ clips on the fly."""

from .dataset import RealVSRDataset, to_tensor
from .prepare import crop_positions, prepare_reds_subimages
from .sampling import clip_indices, random_crop, random_flips
from .sequences import (
    REDS4_CLIPS, FolderSequence, FrameSequence, VideoSequence, find_sequences, folder_sequences,
    reds_sequences, video_sequences,
)

__all__ = [
    "REDS4_CLIPS", "FolderSequence", "FrameSequence", "RealVSRDataset", "VideoSequence", "clip_indices",
    "crop_positions", "find_sequences", "folder_sequences", "prepare_reds_subimages", "random_crop",
    "random_flips", "reds_sequences", "to_tensor", "video_sequences",
]
