"""A keyed, blind audio watermark with the image mark's contract: a 64-bit payload (version, key
tag, 48-bit record id) under CRC-32 and a rate-1/3 convolutional code, an exact false-positive
bound, and where in time the mark is. :mod:`.detect` works on sample arrays; :mod:`.files` reads
and writes WAV, FLAC, MP3, M4A/AAC and Ogg/Opus through PyAV within a budget of seconds;
:mod:`.generate` wraps an audio generator."""

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
from .files import MarkedAudioFile, detect_audio, encode_audio, mark_audio, probe_audio, read_audio
from .generate import WatermarkingAudioGenerator
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
    "MarkedAudioFile",
    "TimeSpan",
    "WatermarkingAudioGenerator",
    "detect_audio",
    "embed_samples",
    "encode_audio",
    "layout_for_key",
    "mark_audio",
    "probe_audio",
    "read_audio",
]
