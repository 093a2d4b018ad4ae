"""The video watermark: the image mark's low-band copy (same key layout, payload and code) added
unchanged to every frame, so it is still over time (the pattern never moves or changes), and
evidence read from many frames at once, with one exact p-value.

:mod:`.frames` works on arrays of frames; :mod:`.generate` wraps a video generator; :mod:`.files`
decodes and re-encodes files through PyAV (FFmpeg's libraries), keeping the container, the video
codec and the other streams, within a budget of frames and frame pixels read from the header
before anything is decoded.
"""

from .embed import DEFAULT_VIDEO_PSNR, FramePlan, VideoMarker
from .files import MAX_PIXEL_FRAMES, MarkedVideo, VideoProbe, detect_video, mark_video, probe_video, stream_kinds
from .frames import VideoDetection, combined, detect_frames
from .generate import WatermarkingVideoGenerator, encode_video

__all__ = [
    "DEFAULT_VIDEO_PSNR",
    "MAX_PIXEL_FRAMES",
    "FramePlan",
    "MarkedVideo",
    "VideoDetection",
    "VideoMarker",
    "VideoProbe",
    "WatermarkingVideoGenerator",
    "combined",
    "detect_frames",
    "detect_video",
    "encode_video",
    "mark_video",
    "probe_video",
    "stream_kinds",
]
