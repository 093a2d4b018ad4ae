"""A keyed, blind audio watermark with the image mark's contract: a 64-bit payload (version, key
tag, 48-bit record id) under CRC-32 and a rate-1/3 convolutional code, an exact false-positive
bound, and where in time the mark is. Pure functions on sample arrays; files are read and written
at the edge (:mod:`watermark.audio.codec`)."""

from .detect import (
    DEFAULT_FPR,
    DEFAULT_STRENGTH,
    MIN_SECONDS,
    AudioDetection,
    AudioWatermarkDetector,
    AudioWatermarker,
    MarkedAudio,
    TimeSpan,
    embed_samples,
)
from .layout import AudioLayout, layout_for_key

__all__ = [
    "DEFAULT_FPR",
    "DEFAULT_STRENGTH",
    "MIN_SECONDS",
    "AudioDetection",
    "AudioLayout",
    "AudioWatermarkDetector",
    "AudioWatermarker",
    "MarkedAudio",
    "TimeSpan",
    "embed_samples",
    "layout_for_key",
]
