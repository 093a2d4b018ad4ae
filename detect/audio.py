"""A sound's watermark reading as a finding (the key ring's audio mark, read over its first seconds)."""

from __future__ import annotations

from watermark.audio import AudioDetection, AudioWatermarkDetector
from watermark.audio.files import detect_audio
from watermark.errors import InvalidInput

from .image import payload_mark_finding, undecodable_finding
from .report import TimeRange, WatermarkFinding

__all__ = ["SCHEME", "audio_watermark", "audio_watermark_finding"]

SCHEME = "assay-audio-stft"


def audio_watermark_finding(d: AudioDetection, keys_tried: int) -> WatermarkFinding:
    """The key ring's reading of a sound (over ``keys_tried`` keys) as a finding."""
    scales = {"time_scale": d.time_scale, "frequency_scale": d.frequency_scale}
    pilots = d.payload is None and d.reason is None  # the pilots' test decided: it counted alignments
    return payload_mark_finding(
        d,
        keys_tried,
        kind="audio",
        scheme=SCHEME,
        reason="shorter than the mark's period" if d.reason == "too-short" else None,
        pilot_z=d.pilot_z,
        geometry_searched=d.searched,
        geometry={k: v for k, v in scales.items() if v is not None} or None,
        time_spans=tuple(TimeRange(start=s.start, end=s.end) for s in d.spans),
        seconds_read=round(d.seconds, 3),
        evidence=(d.alignments, "alignments") if pilots else None,
    )


def audio_watermark(
    data: bytes, detector: AudioWatermarkDetector, *, max_seconds: float
) -> tuple[WatermarkFinding, AudioDetection | None]:
    """The watermark finding of an audio file (its first ``max_seconds`` read) and the detection
    behind it; a file whose samples cannot be decoded is ``inconclusive`` with the reason (and no
    detection), never an error."""
    try:
        found = detect_audio(data, detector, max_seconds=max_seconds)
    except InvalidInput as exc:
        return undecodable_finding(str(exc), detector, kind="audio", scheme=SCHEME), None
    return audio_watermark_finding(found, len(detector.keyring)), found
