"""Video files in and out through PyAV: every frame marked (:mod:`.embed`) and re-encoded with the
codec it came in, audio streams copied packet for packet; frames sampled across a clip for
detection.

Bounded: at most ``max_frames`` frames are marked and at most ``max_seconds`` of a clip are
decoded for detection, so a two-hour upload costs a bounded time (the caller also limits bytes).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import av
import cv2
import numpy as np
import numpy.typing as npt

from ..audio.detect import AudioWatermarker
from ..audio.files import MAX_MARK_SECONDS, MarkedAudioFile, mark_audio
from ..errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from ..image.detect import ImageWatermarkDetector
from ..image.payload import Payload, new_record_id
from ..image.sync import DETECT_SIDE
from .embed import FramePlan, VideoMarker
from .frames import VideoDetection, combined, detect_frames

__all__ = [
    "H264_OPTIONS",
    "MAX_PIXEL_FRAMES",
    "MarkedVideo",
    "VideoProbe",
    "detect_video",
    "mark_video",
    "probe_video",
    "stream_kinds",
]

FloatArray = npt.NDArray[np.float64]
U8Array = npt.NDArray[np.uint8]
MAX_PIXEL_FRAMES = 1920 * 1080 * 9_000  # five minutes of 1080p at 30 fps
RATE_CAP = 3.0  # the marked file's bit rate, at most this times the input's
RATE_FLOOR = 400_000  # bits/s: tiny inputs may still be marked at a usable quality
SAMPLES = 12  # frames read from a video to find its mark
DENSE_SECONDS = 4.0  # decoded frame by frame when the key frames do not suffice
DENSE_BYTES = 8_000_000  # ... or as many seconds as this many bytes of the file hold, if fewer

# input codec -> (encoder, options): the same codec out, at a quality that keeps the mark's PSNR.
# H.264 without x264's 4x4 intra analysis: a still mark over moving content makes motion-compensated
# prediction poor everywhere, and x264 then tries 4x4 intra modes on most blocks; measured on a 720p
# camera pan, that analysis was a sixth of the marked encode's time (capped at the same bit rate,
# the marked encode took 2.1x the plain one; without it 1.75x), while fidelity to the source moved
# by 0.2 dB or less on every clip of eval/video_watermark.py
H264_OPTIONS: Mapping[str, str] = MappingProxyType(
    {"crf": "18", "preset": "veryfast", "x264-params": "partitions=i8x8"}
)
_ENCODERS: dict[str, tuple[str, Mapping[str, str]]] = {
    "h264": ("libx264", H264_OPTIONS),
    "mpeg4": ("mpeg4", {"qscale": "2"}),
    "vp9": ("libvpx-vp9", {"crf": "24", "b": "0", "deadline": "realtime", "cpu-used": "8"}),
    "vp8": ("libvpx", {"crf": "10", "b": "1M", "deadline": "realtime", "cpu-used": "8"}),
}
# where the mark does not read back from the capped encode: uncapped, and for VP8/VP9 a higher quality
# (VP9's constant-quality mode at CRF 24 lost the mark of moving graphics at any cap; CRF 16 keeps it)
_RETRY = {"h264": {}, "mpeg4": {"qscale": "1"}, "vp9": {"crf": "16", "b": "0"}, "vp8": {"crf": "4", "b": "20M"}}
_MUXERS = {"mp4": "mp4", "mov": "mov", "matroska": "matroska", "webm": "webm"}


@dataclass(frozen=True)
class MarkedVideo:
    """A marked video file and what its frames carry."""

    data: bytes
    key_id: str
    payload: Payload
    frames: int
    psnr_min: float  # the lowest per-frame PSNR of the mark, before re-encoding
    soundtrack_snr_db: float | None = None  # the first audio stream's mark (None: not marked)
    soundtrack_note: str | None = None  # why the soundtrack was not marked

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (without the bytes)."""
        out: dict[str, object] = {
            "key_id": self.key_id,
            "payload": self.payload.to_dict(),
            "psnr_db": round(float(self.psnr_min), 2),
            "frames": self.frames,
        }
        if self.soundtrack_snr_db is not None:
            out["soundtrack_snr_db"] = round(float(self.soundtrack_snr_db), 2)
        if self.soundtrack_note is not None:
            out["soundtrack"] = self.soundtrack_note
        return out


def _rate_cap(codec: str, size: int, duration: float | None) -> dict[str, str]:
    """Encoder options that keep the marked file within ``RATE_CAP`` times the input's bit rate.

    A still mark over moving content is new detail in every predicted frame: at the same quality
    setting a camera pan came out 5.9 times larger than its input (measured). Capped at 3 times,
    it comes out 3.2 times larger and its mark is still read from every 2 s excerpt; at 2 times,
    the mark faded from some excerpts' predicted frames. Other content stays near its size."""
    if not duration or duration <= 0:
        return {}
    cap = max(RATE_FLOOR, int(RATE_CAP * size * 8 / duration))
    if codec == "h264":
        return {"maxrate": str(cap), "bufsize": str(2 * cap)}
    if codec in ("vp8", "vp9"):
        return {"b": str(cap)}  # constrained quality: the CRF, up to this rate
    return {}


def _muxer(src: av.container.InputContainer, data: bytes) -> str:
    """The muxer that writes ``src``'s container again."""
    names = src.format.name.split(",")
    if "matroska" in names:
        return "webm" if b"webm" in data[:64] else "matroska"
    return "mov" if data[8:12] == b"qt  " else "mp4"


def _psnr(a: FloatArray, b: FloatArray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


@dataclass(frozen=True)
class VideoProbe:
    """What a video's header says (nothing decoded)."""

    width: int
    height: int
    seconds: float | None

    def detection_bytes(self, samples: int = SAMPLES) -> int:
        """What reading the mark holds in memory, in bytes: the decoder's reference frames at full
        size (about 24 bytes per frame pixel) and ``samples + 1`` float frames at the working scale."""
        ww, wh = _working_size(self.width, self.height)
        return 24 * (self.width * self.height + (samples + 1) * ww * wh)

    def marking_bytes(self) -> int:
        """What marking holds, in bytes: the first frame's float copies while the mark is planned
        and the codecs' frames, about 94 bytes per frame pixel."""
        return 94 * self.width * self.height


def _video_stream(src: av.container.InputContainer) -> av.VideoStream:
    """The first video stream, with a decoder.

    Raises:
        InvalidInput: none, or one in a codec FFmpeg does not know.
    """
    if not src.streams.video:
        raise InvalidInput("this file has no video stream")
    vin = src.streams.video[0]
    if vin.codec_context is None:
        raise InvalidInput("this file's video stream is in a codec Assay cannot decode")
    return vin


def stream_kinds(data: bytes) -> tuple[bool, bool]:
    """Whether a container holds a video stream and an audio stream (False, False: unreadable)."""
    try:
        with av.open(io.BytesIO(data), "r") as src:
            return bool(src.streams.video), bool(src.streams.audio)
    except (av.error.FFmpegError, ValueError, OSError):
        return False, False


def probe_video(data: bytes) -> VideoProbe:
    """The frame size and duration a video's header declares.

    Raises:
        InvalidInput: an unreadable file, no video stream or no frame size.
    """
    try:
        with av.open(io.BytesIO(data), "r") as src:
            ctx = _video_stream(src).codec_context
            seconds = float(src.duration / av.time_base) if src.duration else None
            width, height = ctx.width, ctx.height
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot read this video: {str(exc)[:200]}") from None
    if width <= 0 or height <= 0:
        raise InvalidInput("this video's header gives no frame size")
    return VideoProbe(width, height, seconds)


def _limits(vin: av.VideoStream, duration: float | None, max_frames: int, max_pixel_frames: int) -> tuple[int, int]:
    """The frame size, refused before any decoding when the header already says the video is over
    the limits (the counts are enforced again while decoding: headers can lie).

    Raises:
        InvalidInput: no frame size in the header.
        PayloadTooLarge: a frame or the whole video over the limits.
    """
    width, height = vin.codec_context.width, vin.codec_context.height
    if width <= 0 or height <= 0:
        raise InvalidInput("this video's header gives no frame size")
    if width * height > max_pixel_frames:
        raise PayloadTooLarge(f"a {width}x{height} frame is over this server's video budget")
    declared = vin.frames or (round(duration * float(vin.average_rate or 0)) if duration else 0)
    if declared > max_frames or declared * width * height > max_pixel_frames:
        raise PayloadTooLarge(
            f"this video declares {declared} frames of {width}x{height}: over the budget of {max_frames} frames "
            f"and {max_pixel_frames / 1e9:g} billion frame pixels"
        )
    return width, height


class _FrameMarker:
    """Marks decoded frames one by one: YUV 4:2:0 frames on their luma plane (no colour
    conversion), others through RGB."""

    def __init__(self, marker: VideoMarker, record_id: int, key_id: str | None) -> None:
        self.marker, self.record_id, self.key_id = marker, record_id, key_id
        self.plan: FramePlan | None = None
        self.steps: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]] | None = None
        self.psnr_min = float("inf")
        self.frames = 0

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        self.frames += 1
        if self.plan is None:
            first = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            self.plan = self.marker.plan(first, record_id=self.record_id, key_id=self.key_id)
        sample = self.frames <= 50  # the change is the same every frame: a sample measures it
        if frame.format.name == "yuv420p":
            if self.steps is None:
                self.steps = self.plan.luma_steps(full_range=frame.color_range == 2)
            # written plane by plane into a new frame (the decoder's frames are its references):
            # no packing of the planes into one array and back, two frame copies fewer
            new = av.VideoFrame(frame.width, frame.height, "yuv420p")
            (luma, *chroma), (out_luma, *out_chroma) = _planes(frame), _planes(new)
            marked = FramePlan.apply_luma(luma, self.steps)
            if sample:  # in RGB units: a luma step of 219/255 is one RGB level
                mse = cv2.norm(marked, luma, cv2.NORM_L2SQR) / luma.size * (255.0 / 219.0) ** 2
                self.psnr_min = min(self.psnr_min, float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse))
            np.copyto(out_luma, marked)
            for src, dst in zip(chroma, out_chroma, strict=True):
                np.copyto(dst, src)
            new.color_range = frame.color_range
        else:
            rgb = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
            pixels = self.plan.apply(rgb)
            if sample:
                self.psnr_min = min(self.psnr_min, _psnr(rgb.astype(np.float64), pixels.astype(np.float64)))
            new = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        new.pts, new.time_base = frame.pts, frame.time_base
        return new


def _planes(frame: av.VideoFrame) -> list[U8Array]:
    """``(height, width)`` views of a frame's planes (its line padding left out)."""
    return [np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width] for p in frame.planes]


def mark_video(
    data: bytes,
    marker: VideoMarker,
    *,
    key_id: str | None = None,
    record_id: int | None = None,
    max_frames: int = 20_000,
    max_pixel_frames: int = MAX_PIXEL_FRAMES,
    audio: AudioWatermarker | None = None,
    max_audio_seconds: float = MAX_MARK_SECONDS,
) -> MarkedVideo:
    """``data`` (MP4, MOV, MKV or WebM) with every frame marked, re-encoded with its own codec;
    with ``audio``, its first audio stream carries the same payload in the audio mark (re-encoded
    in its codec; a soundtrack that cannot be marked, too short, longer than ``max_audio_seconds``
    or in a codec Assay does not write, is copied as it was and the result says why). Other audio
    streams are copied.

    The written file is read back: where the frames' mark does not decode from it at the bit-rate
    cap (``RATE_CAP`` times the input's), it is encoded again uncapped at a higher quality
    (``_RETRY``), so a video is never signed as watermarked when its mark cannot be read.

    Raises:
        InvalidInput: an unreadable file, no video stream, frames too small to carry the mark, or
            a mark that does not read back even from the retry.
        UnsupportedMedia: a video codec Assay cannot re-encode.
        PayloadTooLarge: more than ``max_frames`` frames or ``max_pixel_frames`` frame pixels in all.
        UnknownKey: ``key_id`` is not in the key ring.
    """
    record_id = new_record_id() if record_id is None else record_id
    sound, note = (None, None)
    if audio is not None:
        sound, note = _soundtrack(data, audio, record_id, key_id, max_audio_seconds)
    reader = ImageWatermarkDetector(marker.keyring)
    for retry in (False, True):
        out, mark = _mark_frames(data, marker, record_id, key_id, max_frames, max_pixel_frames, sound, retry=retry)
        assert mark.plan is not None
        back = detect_video(out, reader)
        if back.found and back.payload == mark.plan.payload:
            snr = sound.snr_db if sound is not None else None
            return MarkedVideo(out, mark.plan.key_id, mark.plan.payload, mark.frames, mark.psnr_min, snr, note)
    raise InvalidInput(
        "the video mark does not read back from this video even at a higher quality "
        "(frames too flat, too small or too short to carry it): nothing was written"
    )


def _mark_frames(
    data: bytes,
    marker: VideoMarker,
    record_id: int,
    key_id: str | None,
    max_frames: int,
    max_pixel_frames: int,
    sound: MarkedAudioFile | None,
    *,
    retry: bool,
) -> tuple[bytes, _FrameMarker]:
    """The video with every frame marked (``sound``: its first audio stream replaced by this
    marked one), encoded within the bit-rate cap, or (``retry``) at the retry's higher quality."""
    mark = _FrameMarker(marker, record_id, key_id)
    out = io.BytesIO()
    track: _Soundtrack | None = None
    try:
        with av.open(io.BytesIO(data), "r") as src:
            vin = _video_stream(src)
            duration = float(src.duration / av.time_base) if src.duration else None
            width, height = _limits(vin, duration, max_frames, max_pixel_frames)
            frame_limit = min(max_frames, max_pixel_frames // (width * height))
            codec = vin.codec_context.name
            if codec not in _ENCODERS:
                raise UnsupportedMedia(f"Assay re-encodes H.264, MPEG-4, VP8 and VP9 video, not {codec}")
            vin.thread_type = "SLICE"
            encoder, options = _ENCODERS[codec]
            options = {**options, **(_RETRY[codec] if retry else _rate_cap(codec, len(data), duration))}
            with av.open(out, "w", format=_muxer(src, data)) as dst:
                vout = dst.add_stream(encoder, rate=vin.average_rate or 25, options=options)
                assert isinstance(vout, av.VideoStream)
                vout.width, vout.height = width, height
                vout.pix_fmt = "yuv420p"
                vout.time_base = vin.time_base
                copied = src.streams.audio[1:] if sound is not None else src.streams.audio
                others = {s.index: dst.add_stream_from_template(s) for s in copied}
                track = _Soundtrack(sound.data, dst) if sound is not None else None
                for packet in src.demux(vin, *copied):
                    if packet.stream.index in others:
                        if packet.dts is not None:
                            packet.stream = others[packet.stream.index]
                            dst.mux(packet)
                        continue
                    if track is not None and packet.pts is not None and packet.time_base is not None:
                        track.mux_until(float(packet.pts * packet.time_base))
                    for frame in packet.decode():
                        if not isinstance(frame, av.VideoFrame):
                            continue
                        if mark.frames >= frame_limit:
                            raise PayloadTooLarge(
                                f"videos of at most {frame_limit} frames of {width}x{height} are marked here"
                            )
                        for p in vout.encode(mark(frame)):
                            dst.mux(p)
                for p in vout.encode(None):
                    dst.mux(p)
                if track is not None:
                    track.mux_until(float("inf"))
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot re-encode this video: {str(exc)[:200]}") from None
    finally:
        if track is not None:
            track.close()
    if mark.plan is None:
        raise InvalidInput("this video has no frames")
    return out.getvalue(), mark


def _soundtrack(
    data: bytes, audio: AudioWatermarker, record_id: int, key_id: str | None, max_seconds: float
) -> tuple[MarkedAudioFile | None, str | None]:
    """The video's first audio stream marked with the frames' payload (an audio-only file in the
    video's container family), or why it is not: none, too short, longer than ``max_seconds``, or a
    codec Assay does not write (copied as it was)."""
    try:
        with av.open(io.BytesIO(data), "r") as src:
            if not src.streams.audio:
                return None, None
            family = "matroska" if "matroska" in src.format.name.split(",") else "mp4"
    except (av.error.FFmpegError, ValueError, OSError):
        return None, None  # the frames' own reading says why
    try:
        sound = mark_audio(data, audio, key_id=key_id, record_id=record_id, max_seconds=max_seconds, muxer=family)
    except (InvalidInput, UnsupportedMedia, PayloadTooLarge) as exc:
        return None, f"copied unmarked: {exc}"
    return sound, None


class _Soundtrack:
    """A marked soundtrack's packets, muxed into ``dst`` in time with the video's."""

    def __init__(self, data: bytes, dst: av.container.OutputContainer) -> None:
        self.src = av.open(io.BytesIO(data), "r")
        stream = self.src.streams.audio[0]
        self.out = dst.add_stream_from_template(stream)
        self.dst = dst
        self.packets = iter([p for p in self.src.demux(stream) if p.dts is not None])
        self.pending = next(self.packets, None)

    def mux_until(self, seconds: float) -> None:
        """Mux every packet that starts before ``seconds``."""
        while self.pending is not None:
            p = self.pending
            if p.pts is not None and p.time_base is not None and float(p.pts * p.time_base) > seconds:
                return
            p.stream = self.out
            self.dst.mux(p)
            self.pending = next(self.packets, None)

    def close(self) -> None:
        self.src.close()


def _working_size(width: int, height: int) -> tuple[int, int]:
    """Frames are read at the detector's working scale (short side ``DETECT_SIDE``): the mark is
    low-band, so nothing it carries is lost, and a 4K frame costs what a 512-line one does."""
    factor = min(1.0, DETECT_SIDE / max(1, min(width, height)))
    return max(1, round(width * factor)), max(1, round(height * factor))


def _sample(data: bytes, *, keyframes_only: bool, seconds: float, samples: int) -> list[U8Array]:
    """Up to ``samples + 1`` RGB frames at least ``seconds / samples`` apart from the first
    ``seconds`` of the video, at the working scale (``keyframes_only``: the decoder skips every
    other frame)."""
    picked: list[U8Array] = []
    with av.open(io.BytesIO(data), "r") as src:
        vin = _video_stream(src)
        vin.thread_type = "SLICE"
        if keyframes_only:
            vin.codec_context.skip_frame = "NONKEY"
        width, height = _working_size(vin.codec_context.width, vin.codec_context.height)
        rate = float(vin.average_rate or 25)
        step, due = seconds / samples, 0.0
        for i, frame in enumerate(src.decode(vin)):
            at = frame.time if frame.time is not None else i / rate
            if at > seconds or len(picked) > samples:
                break
            if at + 1e-6 >= due:
                rgb = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
                picked.append(np.asarray(rgb, dtype=np.uint8))
                due = at + step
    return picked


def detect_video(
    data: bytes,
    detector: ImageWatermarkDetector,
    *,
    samples: int = SAMPLES,
    max_seconds: float = 600.0,
    dense_seconds: float = DENSE_SECONDS,
    dense_bytes: int = DENSE_BYTES,
    probe: VideoProbe | None = None,
) -> VideoDetection:
    """Look for the mark in frames sampled over the first ``max_seconds`` of a video.

    The key frames are read first (the decoder skips everything else: a 10 s 720p clip costs a few
    hundredths of a second); when they are fewer than ``samples`` and carry no mark, up to
    ``samples`` frames spread over the first ``dense_seconds`` are decoded as well, or over the
    seconds the first ``dense_bytes`` of the file hold at its mean bit rate where those are fewer
    (decoding costs what the bits do: a grainy 38 Mbit/s clip decodes at ~5 s of video a second
    here). Both readings' decodes count in the p-value. ``probe``: the header, when the caller
    read it already.

    Raises:
        InvalidInput: an unreadable file or no video stream.
    """
    seconds = (probe or probe_video(data)).seconds
    window = max(1e-3, min(seconds or max_seconds, max_seconds))
    dense_window = min(window, dense_seconds, dense_bytes * (seconds or max_seconds) / max(1, len(data)))
    try:
        keys = _sample(data, keyframes_only=True, seconds=window, samples=samples)
        first = detect_frames(keys, detector) if keys else None
        if first is not None and (first.found or first.reason == "too-small" or len(keys) >= samples):
            return first
        dense = _sample(data, keyframes_only=False, seconds=dense_window, samples=samples)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot read this video: {str(exc)[:200]}") from None
    if not dense:
        raise InvalidInput("this video has no frames")
    if first is None:
        return detect_frames(dense, detector, singles=1)
    # the key frames were read one by one already, the first frame among them: only the mean is new
    return combined(first, detect_frames(dense, detector, singles=0))
