"""Video files in and out through PyAV: every frame marked (:mod:`.embed`) and re-encoded with the
codec it came in, audio streams copied packet for packet; frames sampled across a clip for
detection.

Bounded: at most ``max_frames`` frames are marked and at most ``max_seconds`` of a clip are
decoded for detection, so a two-hour upload costs a bounded time (the caller also limits bytes).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from ..errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from ..image.detect import ImageWatermarkDetector
from ..image.payload import Payload, new_record_id
from .embed import FramePlan, VideoMarker
from .frames import VideoDetection, detect_frames

__all__ = ["MarkedVideo", "detect_video", "mark_video"]

FloatArray = npt.NDArray[np.float64]

# input codec -> (encoder, options): the same codec out, at a quality that keeps the mark's PSNR
_ENCODERS = {
    "h264": ("libx264", {"crf": "18", "preset": "veryfast"}),
    "mpeg4": ("mpeg4", {"qscale": "2"}),
    "vp9": ("libvpx-vp9", {"crf": "24", "b": "0", "deadline": "realtime", "cpu-used": "8"}),
    "vp8": ("libvpx", {"crf": "10", "b": "1M", "deadline": "realtime", "cpu-used": "8"}),
}
_MUXERS = {"mp4": "mp4", "mov": "mov", "matroska": "matroska", "webm": "webm"}


@dataclass(frozen=True)
class MarkedVideo:
    """A marked video file and what its frames carry."""

    data: bytes
    key_id: str
    payload: Payload
    frames: int
    psnr_min: float  # the lowest per-frame PSNR of the mark, before re-encoding

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (without the bytes)."""
        return {
            "key_id": self.key_id,
            "payload": self.payload.to_dict(),
            "psnr_db": round(self.psnr_min, 2),
            "frames": self.frames,
        }


def _muxer(src: av.container.InputContainer, data: bytes) -> str:
    """The muxer that writes ``src``'s container again."""
    names = src.format.name.split(",")
    if "matroska" in names:
        return "webm" if b"webm" in data[:64] else "matroska"
    return "mov" if data[8:12] == b"qt  " else "mp4"


def _psnr(a: FloatArray, b: FloatArray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def mark_video(
    data: bytes,
    marker: VideoMarker,
    *,
    key_id: str | None = None,
    record_id: int | None = None,
    max_frames: int = 20_000,
) -> MarkedVideo:
    """``data`` (MP4, MOV, MKV or WebM) with every frame marked, re-encoded with its own codec.

    Raises:
        InvalidInput: an unreadable file, no video stream, frames too small to carry the mark.
        UnsupportedMedia: a video codec Assay cannot re-encode.
        PayloadTooLarge: more than ``max_frames`` frames.
        UnknownKey: ``key_id`` is not in the key ring.
    """
    rid = new_record_id() if record_id is None else record_id
    out = io.BytesIO()
    plan: FramePlan | None = None
    frames, psnr_min = 0, float("inf")
    try:
        with av.open(io.BytesIO(data), "r") as src:
            if not src.streams.video:
                raise InvalidInput("this file has no video stream")
            vin = src.streams.video[0]
            codec = vin.codec_context.name
            if codec not in _ENCODERS:
                raise UnsupportedMedia(f"Assay re-encodes H.264, MPEG-4, VP8 and VP9 video, not {codec}")
            encoder, options = _ENCODERS[codec]
            with av.open(out, "w", format=_muxer(src, data)) as dst:
                vout = dst.add_stream(encoder, rate=vin.average_rate or 25, options=options)
                assert isinstance(vout, av.VideoStream)
                vout.width, vout.height = vin.codec_context.width, vin.codec_context.height
                vout.pix_fmt = "yuv420p"
                vout.time_base = vin.time_base
                others = {s.index: dst.add_stream_from_template(s) for s in src.streams.audio}
                for packet in src.demux(vin, *src.streams.audio):
                    if packet.stream.index in others:
                        if packet.dts is not None:
                            packet.stream = others[packet.stream.index]
                            dst.mux(packet)
                        continue
                    for frame in packet.decode():
                        if not isinstance(frame, av.VideoFrame):
                            continue
                        frames += 1
                        if frames > max_frames:
                            raise PayloadTooLarge(f"videos of at most {max_frames} frames are marked")
                        rgb = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
                        if plan is None:
                            plan = marker.plan(rgb, record_id=rid, key_id=key_id)
                        pixels = plan.apply(rgb)
                        if frames <= 50:  # the change is the same every frame: a sample suffices
                            psnr_min = min(psnr_min, _psnr(rgb.astype(np.float64), pixels.astype(np.float64)))
                        new = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                        new.pts, new.time_base = frame.pts, frame.time_base
                        for p in vout.encode(new):
                            dst.mux(p)
                for p in vout.encode(None):
                    dst.mux(p)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot re-encode this video: {str(exc)[:200]}") from None
    if plan is None:
        raise InvalidInput("this video has no frames")
    return MarkedVideo(out.getvalue(), plan.key_id, plan.payload, frames, psnr_min)


def detect_video(
    data: bytes, detector: ImageWatermarkDetector, *, samples: int = 12, max_seconds: float = 600.0
) -> VideoDetection:
    """Look for the mark in ``samples`` frames spread over the first ``max_seconds`` of a video.

    Raises:
        InvalidInput: an unreadable file or no video stream.
    """
    try:
        with av.open(io.BytesIO(data), "r") as src:
            if not src.streams.video:
                raise InvalidInput("this file has no video stream")
            vin = src.streams.video[0]
            rate = float(vin.average_rate or 25)
            duration = float(src.duration / av.time_base) if src.duration else max_seconds
            total = max(1, int(min(duration, max_seconds) * rate))
            stride = max(1, total // samples)
            picked: list[FloatArray] = []
            for i, frame in enumerate(src.decode(vin)):
                if i >= total or len(picked) >= samples:
                    break
                if i % stride == 0:
                    picked.append(frame.to_ndarray(format="rgb24").astype(np.float64))
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot read this video: {str(exc)[:200]}") from None
    if not picked:
        raise InvalidInput("this video has no frames")
    return detect_frames(picked, detector)
