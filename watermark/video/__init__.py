"""The video watermark: the image mark (same key layout, payload and code) in every frame, so it
is still over time (no flicker: the pattern never moves, only its texture masking follows the
picture), and evidence read from many frames at once, with one exact p-value.

:mod:`.frames` works on arrays of frames; :mod:`.files` decodes and re-encodes files through
PyAV (FFmpeg's libraries), keeping the container, the video codec and the other streams.
"""

from .embed import DEFAULT_VIDEO_PSNR, FramePlan, VideoMarker
from .files import MarkedVideo, detect_video, mark_video
from .frames import VideoDetection, detect_frames

__all__ = [
    "DEFAULT_VIDEO_PSNR",
    "FramePlan",
    "MarkedVideo",
    "VideoDetection",
    "VideoMarker",
    "detect_frames",
    "detect_video",
    "mark_video",
]
