"""Frame I/O: videos (PyAV), folders of frames and images behind one source/sink interface."""

from .frames import IMAGE_EXTENSIONS, is_image_path, list_frame_files, natural_key, read_image, write_image
from .sink import FrameSink, check_output_path, open_sink
from .source import FrameSource, open_source
from .video import VIDEO_EXTENSIONS, is_video_path

__all__ = [
    "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "FrameSink", "FrameSource", "check_output_path", "is_image_path",
    "is_video_path", "list_frame_files", "natural_key", "open_sink", "open_source", "read_image", "write_image",
]
