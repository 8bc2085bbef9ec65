"""Training data: frame sequences (REDS, frame folders, videos, pans over photos and textures), the
training-data manifest, clip sampling and augmentation, and the dataset that synthesises LQ clips on the
fly."""

from .dataset import RealVSRDataset, to_tensor
from .manifest import ManifestFile, TrainingManifest, manifest_sequences, read_manifest, write_manifest
from .prepare import crop_positions, prepare_reds_subimages
from .sampling import clip_indices, random_crop, random_flips
from .sequences import (
    REDS4_CLIPS, FolderSequence, FrameSequence, VideoSequence, find_sequences, folder_sequences,
    reds_sequences, video_sequences,
)
from .synthetic import PanSequence, synthetic_sequence

__all__ = [
    "REDS4_CLIPS", "FolderSequence", "FrameSequence", "ManifestFile", "PanSequence", "RealVSRDataset",
    "TrainingManifest", "VideoSequence", "clip_indices", "crop_positions", "find_sequences", "folder_sequences",
    "manifest_sequences", "prepare_reds_subimages", "random_crop", "random_flips", "read_manifest",
    "reds_sequences", "synthetic_sequence", "to_tensor", "video_sequences", "write_manifest",
]
