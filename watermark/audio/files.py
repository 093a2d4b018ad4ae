"""Audio files in and out through PyAV (FFmpeg's libraries): WAV, FLAC, MP3, M4A/AAC and
Ogg/Opus are decoded, marked (:mod:`.detect`) and written again in their own container and codec,
with their tags; the first seconds of a file are decoded for detection.

Bounded: the header's sample rate and channel count are checked before anything is decoded, at
most ``max_seconds`` are marked (a longer file is refused before its samples are held) and
detection decodes only the stretch it reads, so a 10-hour upload costs what its first minute does.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from ..errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from ..image.payload import Payload, new_record_id
from ..keys import KeyRing
from .detect import AudioDetection, AudioWatermarkDetector, AudioWatermarker

__all__ = [
    "DETECT_SECONDS",
    "MAX_MARK_SECONDS",
    "AudioProbe",
    "MarkedAudioFile",
    "detect_audio",
    "encode_audio",
    "mark_audio",
    "probe_audio",
    "read_audio",
]

FloatArray = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

MAX_MARK_SECONDS = 600.0  # ten minutes: longer sound is refused for marking
DETECT_SECONDS = 60.0  # the stretch of a file a detection decodes and reads
MAX_CHANNELS = 16
ESCALATION = (1.0, 1.5, 2.0)  # strength factors tried until the mark reads back from the written file
MAX_STRENGTH = 0.1
MIN_LOSSY_RATE = 128_000  # bits/s: a lossy file is re-encoded at its own rate, and at least this
MAX_LOSSY_RATE = 320_000

# input codec -> encoder: the same codec out
_LOSSY = {"mp3": "libmp3lame", "mp3float": "libmp3lame", "aac": "aac", "opus": "libopus"}
_LOSSLESS = {"flac": "flac", "alac": "alac"}
_MUXERS = {"wav": "wav", "flac": "flac", "mp3": "mp3", "ogg": "ogg"}


@dataclass(frozen=True)
class AudioProbe:
    """What an audio file's header says (nothing decoded)."""

    rate: int
    channels: int
    seconds: float | None
    codec: str
    container: str
    bit_rate: int | None = None  # the stream's, where the header says

    def held_bytes(self, seconds: float) -> int:
        """What holding this sound, or its first ``seconds``, costs in bytes of the decode budget:
        the decoded samples in float32, the mark and the output in float64, the encoder's copy
        (about 28 bytes per sample and channel)."""
        held = min(self.seconds, seconds) if self.seconds else seconds
        return int(held * self.rate * self.channels * 28) + 1


@dataclass(frozen=True)
class MarkedAudioFile:
    """A marked audio file and what it carries."""

    data: bytes
    key_id: str
    payload: Payload
    seconds: float
    snr_db: float
    codec: str
    strength: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (without the bytes)."""
        return {
            "key_id": self.key_id,
            "payload": self.payload.to_dict(),
            "snr_db": round(float(self.snr_db), 2),
            "seconds": round(self.seconds, 3),
            "codec": self.codec,
            "strength": self.strength,
        }


def _why(exc: Exception) -> str:
    """FFmpeg's words for what went wrong, without its error number."""
    return str(getattr(exc, "strerror", None) or exc)[:200]


def _audio_stream(src: av.container.InputContainer) -> av.AudioStream:
    """The first audio stream, with a decoder and a sane header.

    Raises:
        InvalidInput: none, one in a codec FFmpeg does not know, or an absurd rate or channel count.
    """
    if not src.streams.audio:
        raise InvalidInput("this file has no audio stream")
    ain = src.streams.audio[0]
    ctx = ain.codec_context
    if ctx is None:
        raise InvalidInput("this file's audio stream is in a codec Assay cannot decode")
    if not 8_000 <= (ctx.sample_rate or 0) <= 384_000:
        raise InvalidInput(f"sample rate must be 8 to 384 kHz, this file declares {ctx.sample_rate}")
    if not 1 <= ctx.channels <= MAX_CHANNELS:
        raise InvalidInput(f"audio of 1 to {MAX_CHANNELS} channels is read here, this file declares {ctx.channels}")
    return ain


def _seconds(src: av.container.InputContainer, ain: av.AudioStream) -> float | None:
    if ain.duration is not None and ain.time_base is not None:
        return float(ain.duration * ain.time_base)
    return float(src.duration / av.time_base) if src.duration else None


def _probe(src: av.container.InputContainer, ain: av.AudioStream) -> AudioProbe:
    ctx = ain.codec_context
    rate = ctx.bit_rate or None
    return AudioProbe(ctx.sample_rate, ctx.channels, _seconds(src, ain), ctx.name, src.format.name, rate)


def probe_audio(data: bytes) -> AudioProbe:
    """The rate, channels, duration and codec an audio file's header declares.

    Raises:
        InvalidInput: an unreadable file, no audio stream, or an absurd header.
    """
    try:
        with av.open(io.BytesIO(data), "r") as src:
            ain = _audio_stream(src)
            return _probe(src, ain)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot read this audio: {_why(exc)}") from None


def _frames(src: av.container.InputContainer, ain: av.AudioStream) -> Iterator[F32]:
    """``(channels, n)`` float32 blocks of the stream, in order."""
    resampler = av.AudioResampler(format="fltp", layout=ain.codec_context.layout, rate=ain.codec_context.sample_rate)
    for frame in src.decode(ain):
        for out in resampler.resample(frame):
            yield np.asarray(out.to_ndarray(), dtype=np.float32)


def _decode(data: bytes, max_seconds: float, *, refuse_longer: bool) -> tuple[F32, AudioProbe, dict[str, str]]:
    """``(n, channels)`` float32 samples of the first ``max_seconds`` (``refuse_longer``: a longer
    file is refused, by its header before decoding and by its samples while decoding), the header
    and the container's tags."""
    try:
        with av.open(io.BytesIO(data), "r") as src:
            ain = _audio_stream(src)
            probe = _probe(src, ain)
            limit = int(max_seconds * probe.rate)
            too_long = PayloadTooLarge(f"audio of at most {max_seconds:g} s is marked here")
            if refuse_longer and probe.seconds is not None and probe.seconds > max_seconds + 1:
                raise too_long
            blocks: list[F32] = []
            held = 0
            for block in _frames(src, ain):
                if held + block.shape[1] > limit:
                    if refuse_longer and held + block.shape[1] > limit + probe.rate:  # rounding at the end
                        raise too_long
                    blocks.append(block[:, : limit - held])
                    held = limit
                    break
                blocks.append(block)
                held += block.shape[1]
            tags = dict(src.metadata)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot decode this audio: {_why(exc)}") from None
    if not blocks:
        raise InvalidInput("this audio has no samples")
    return np.concatenate(blocks, axis=1).T, probe, tags


def read_audio(data: bytes, *, max_seconds: float = DETECT_SECONDS) -> tuple[F32, int]:
    """``(n, channels)`` float32 samples in [-1, 1] of the first ``max_seconds`` and the rate.

    Raises:
        InvalidInput: an unreadable file, no audio stream, or an absurd header.
    """
    samples, probe, _ = _decode(data, max_seconds, refuse_longer=False)
    return samples, probe.rate


def _muxer(probe: AudioProbe, data: bytes) -> str:
    names = probe.container.split(",")
    if "mp4" in names or "mov" in names:
        return "ipod" if data[8:12] in (b"M4A ", b"M4B ") else "mp4"
    for name in names:
        if name in _MUXERS:
            return _MUXERS[name]
    raise UnsupportedMedia(f"Assay writes WAV, FLAC, MP3, M4A and Ogg audio, not {probe.container}")


def _encoder(probe: AudioProbe) -> tuple[str, int | None]:
    """The encoder that writes ``probe``'s codec again, and its bit rate (lossy codecs: the
    stream's own within 128–320 kbit/s; 128 where the header gives none)."""
    codec = probe.codec
    if codec.startswith("pcm_"):
        return codec, None
    if codec in _LOSSLESS:
        return _LOSSLESS[codec], None
    if codec in _LOSSY:
        top = min(MAX_LOSSY_RATE, 256_000 * probe.channels) if codec == "opus" else MAX_LOSSY_RATE
        return _LOSSY[codec], min(top, max(MIN_LOSSY_RATE, probe.bit_rate or 0))
    raise UnsupportedMedia(f"Assay re-encodes PCM, FLAC, ALAC, MP3, AAC and Opus audio, not {codec}")


def encode_audio(
    samples: FloatArray | F32,
    rate: int,
    *,
    codec: str = "pcm_s16le",
    muxer: str = "wav",
    bit_rate: int | None = None,
    tags: dict[str, str] | None = None,
) -> bytes:
    """``(n,)`` or ``(n, channels)`` float samples in [-1, 1] as a file (16-bit WAV by default).

    Raises:
        InvalidInput: no samples, or an encoder that refuses the rate or channel count.
    """
    x = np.asarray(samples, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or not len(x) or not 1 <= x.shape[1] <= MAX_CHANNELS:
        raise InvalidInput("audio to encode must be (samples,) or (samples, channels) with some samples")
    layout = {1: "mono", 2: "stereo"}.get(x.shape[1], f"{x.shape[1]}c")
    out = io.BytesIO()
    try:
        with av.open(out, "w", format=muxer) as dst:
            dst.metadata.update(tags or {})
            stream = dst.add_stream(codec, rate=rate)
            assert isinstance(stream, av.AudioStream)
            stream.layout = layout
            if bit_rate:
                stream.bit_rate = bit_rate
            block = 4096
            for start in range(0, len(x), block):
                part = np.ascontiguousarray(np.clip(x[start : start + block], -1.0, 1.0).T)
                frame = av.AudioFrame.from_ndarray(part, format="fltp", layout=layout)
                frame.sample_rate, frame.pts = rate, start
                for packet in stream.encode(frame):
                    dst.mux(packet)
            for packet in stream.encode(None):
                dst.mux(packet)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot encode this audio as {codec}: {_why(exc)}") from None
    return out.getvalue()


def mark_audio(
    data: bytes,
    marker: AudioWatermarker,
    *,
    key_id: str | None = None,
    record_id: int | None = None,
    max_seconds: float = MAX_MARK_SECONDS,
    muxer: str | None = None,
) -> MarkedAudioFile:
    """``data`` (WAV, FLAC, MP3, M4A/AAC or Ogg/Opus) marked and written again in its container and
    codec (a lossy file at its own bit rate, within 128–320 kbit/s), tags kept. ``muxer``: another
    container (``mp4`` or ``matroska`` for a video's soundtrack, whose first audio stream is read).

    The written file is read back: where the mark does not decode from it (a short or quiet sound,
    its own codec), it is made again at ``ESCALATION`` times the marker's strength, so a file is
    never signed as watermarked when its mark cannot be read; the result says the strength used.

    Raises:
        InvalidInput: an unreadable file, no audio stream, an absurd header, too short to carry a
            mark, or a mark that does not read back at any strength tried.
        UnsupportedMedia: a codec or container Assay cannot write again.
        PayloadTooLarge: more than ``max_seconds`` of sound.
        UnknownKey: ``key_id`` is not in the key ring.
    """
    probe = probe_audio(data)
    muxer = muxer or _muxer(probe, data)
    encoder, bit_rate = _encoder(probe)
    samples, probe, tags = _decode(data, max_seconds, refuse_longer=True)
    host = samples.astype(np.float64)
    del samples
    key = marker.keyring.get(key_id) if key_id else marker.keyring.active
    reader = AudioWatermarkDetector(KeyRing([key]), search=False)
    record_id = new_record_id() if record_id is None else record_id
    for factor in ESCALATION:
        strength = min(MAX_STRENGTH, marker.strength * factor)
        marked = AudioWatermarker(marker.keyring, strength=strength).mark_samples(
            host, probe.rate, key_id=key.key_id, record_id=record_id
        )
        out = encode_audio(marked.samples, probe.rate, codec=encoder, muxer=muxer, bit_rate=bit_rate, tags=tags)
        back = detect_audio(out, reader)
        if back.found and back.payload == marked.payload:
            seconds = marked.samples.shape[0] / probe.rate
            return MarkedAudioFile(out, marked.key_id, marked.payload, seconds, marked.snr_db, encoder, strength)
    raise InvalidInput(
        f"the audio mark does not read back from this sound as {encoder} even at strength {strength:g} "
        "(too quiet, too short or too sparse to carry it): nothing was written"
    )


def detect_audio(
    data: bytes, detector: AudioWatermarkDetector, *, max_seconds: float = DETECT_SECONDS
) -> AudioDetection:
    """Look for the mark in the first ``max_seconds`` of an audio file.

    Raises:
        InvalidInput: an unreadable file, no audio stream, or an absurd header.
    """
    samples, rate = read_audio(data, max_seconds=max_seconds)
    return detector.detect_samples(samples.astype(np.float64), rate)
