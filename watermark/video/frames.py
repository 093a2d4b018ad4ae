"""Reading the image mark from many frames of a video, with one exact bound.

Every frame carries the same tile, so the mean of frames sampled across a clip carries it at full
strength while moving content averages away: the mean is read first. When it does not decode,
a few single frames are read too (a cut between scenes can wash the mean out), at the geometries
the mean's search settled on: every frame of a video shares one geometry, and the mean, where
content averages away and the tile does not, shows it best. Each reading is an
image detection whose decodes are counted; the p-value of a hit is the decodes of *every* reading
tried, times ``2**-48`` (:mod:`watermark.image.ecc`), a union bound over everything looked at.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..image.detect import ImageWatermarkDetector
from ..image.embed import PixelArray
from ..image.payload import CHECKED_BITS, Payload
from ..image.sync import Geometry

__all__ = ["SINGLE_FRAMES", "VideoDetection", "combined", "detect_frames"]

SINGLE_FRAMES = 3  # single frames read when the mean does not decode
_NULL_PASS = 2.0**-CHECKED_BITS


@dataclass(frozen=True)
class VideoDetection:
    """The outcome of looking for the mark in a video's frames (``p_value`` 1.0 when nothing decoded)."""

    found: bool
    p_value: float
    fpr: float
    decodes: int
    frames_read: int
    key_id: str | None = None
    payload: Payload | None = None
    bit_accuracy: float | None = None
    reason: str | None = None


def detect_frames(
    frames: Sequence[PixelArray], detector: ImageWatermarkDetector, *, singles: int = SINGLE_FRAMES
) -> VideoDetection:
    """Look for the mark in ``(h, w, 3)`` RGB frames in ``[0, 255]`` (8-bit or float) sampled from
    one video: their mean, then up to ``singles`` single frames (at most all but one).

    Raises:
        ValueError: no frames, or frames of different sizes.
    """
    if not frames:
        raise ValueError("no frames to read")
    if len({f.shape for f in frames}) != 1:
        raise ValueError("frames of one video have one size")
    mean = np.zeros(frames[0].shape, dtype=np.float32)
    for f in frames:  # summed in place (8-bit frames sum exactly), not stacked: a dozen float copies cost 0.3 s
        np.add(mean, f, out=mean)
    mean /= len(frames)
    readings: list[PixelArray] = [mean]
    singles = min(singles, len(frames) - 1)  # with the mean, n - 1 frames determine the n-th
    step = max(1, len(frames) // max(1, singles))
    readings += [frames[i] for i in range(0, len(frames), step)][:singles]
    decodes = 0
    at: tuple[Geometry, ...] = ()
    for pixels in readings:
        d = detector.detect_pixels(pixels, peak=255.0, at=at)
        at = at or d.tried  # the mean's; a search again only where it tried none
        decodes += d.decodes
        if d.reason == "too-small":
            return VideoDetection(False, 1.0, detector.fpr, 0, len(frames), reason="too-small")
        if d.found or (d.payload is not None):
            p = min(1.0, decodes * _NULL_PASS)
            return VideoDetection(
                found=p <= detector.fpr,
                p_value=p,
                fpr=detector.fpr,
                decodes=decodes,
                frames_read=len(frames),
                key_id=d.key_id,
                payload=d.payload,
                bit_accuracy=d.bit_accuracy,
            )
    return VideoDetection(False, 1.0, detector.fpr, decodes, len(frames))


def combined(first: VideoDetection, second: VideoDetection) -> VideoDetection:
    """Two readings of one video as one: ``second`` (read after ``first`` found nothing), its
    p-value over the decodes of both (the union bound counts everything looked at)."""
    decodes = first.decodes + second.decodes
    frames = first.frames_read + second.frames_read
    if second.payload is None:
        return dataclasses.replace(second, decodes=decodes, frames_read=frames)
    p = min(1.0, decodes * _NULL_PASS)
    return dataclasses.replace(second, found=p <= second.fpr, p_value=p, decodes=decodes, frames_read=frames)
