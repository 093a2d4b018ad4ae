"""A video's watermark reading as a finding (the image mark's key ring, read over sampled frames)."""

from __future__ import annotations

from watermark.errors import InvalidInput
from watermark.image import ImageWatermarkDetector
from watermark.video import VideoDetection, VideoProbe, detect_video

from .image import payload_mark_finding, undecodable_finding
from .report import WatermarkFinding

__all__ = ["SCHEME", "video_watermark", "video_watermark_finding"]

SCHEME = "assay-video-lowband"


def video_watermark_finding(d: VideoDetection, keys_tried: int) -> WatermarkFinding:
    """The key ring's reading of a video (over ``keys_tried`` keys) as a finding."""
    return payload_mark_finding(d, keys_tried, kind="video", scheme=SCHEME, frames_read=d.frames_read)


def video_watermark(
    data: bytes, detector: ImageWatermarkDetector, *, max_seconds: float, probe: VideoProbe | None = None
) -> tuple[WatermarkFinding, VideoDetection | None]:
    """The watermark finding of a video file (frames sampled over its first ``max_seconds``) and
    the detection behind it; a file whose frames cannot be decoded is ``inconclusive`` with the
    reason (and no detection), never an error."""
    try:
        found = detect_video(data, detector, max_seconds=max_seconds, probe=probe)
    except InvalidInput as exc:
        return undecodable_finding(str(exc), detector, kind="video", scheme=SCHEME), None
    return video_watermark_finding(found, len(detector.keyring)), found
