"""Audio files and generators: every container comes back in its own codec with its tags and the
mark; hostile headers and files are refused in words; a spoken sound made by a real offline
speech generator (espeak-ng), marked, signed and recorded, leads back to its credentials after
its metadata is stripped and it is re-encoded."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from detect.inspect import inspect_media
from provenance.credentials import ensure_dev_credentials
from provenance.media_types import sniff_media
from provenance.soft_binding import AUDIO_ALG, sign_and_store
from provenance.store import ManifestStore
from watermark.audio import AudioWatermarkDetector, AudioWatermarker, WatermarkingAudioGenerator
from watermark.audio.files import detect_audio, encode_audio, mark_audio, probe_audio, read_audio
from watermark.errors import InvalidInput, PayloadTooLarge
from watermark.image.payload import Payload
from watermark.keys import KeyRing, Secret, WatermarkKey

RING = KeyRing([WatermarkKey("a", "kgw", Secret(b"a" * 32))])
TEXT = (
    "The harbour master said the ferry would be late again today, because the wind had turned in the night "
    "and the tide was lower than anyone expected. Passengers waited on the quay with coffee and newspapers, "
    "and the gulls argued over the bread a child had dropped near the ticket office."
)


def speak(text: str = TEXT) -> tuple[np.ndarray, int]:
    """Speech from espeak-ng (22.05 kHz mono float samples)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: `make install` installs it")
    wav = subprocess.run(["espeak-ng", "--stdout", text], capture_output=True, check=True, timeout=60).stdout
    samples, rate = read_audio(wav, max_seconds=600)
    return samples[:, 0].astype(np.float64), rate


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    return speak()


def reencode(data: bytes, codec: str, muxer: str, bit_rate: int | None = None) -> bytes:
    """Decoded and written again without its tags (what a platform's transcode does)."""
    samples, rate = read_audio(data, max_seconds=600)
    if codec == "libopus":
        from scipy.signal import resample_poly

        samples, rate = resample_poly(samples, 160, 147, axis=0), 24_000
    return encode_audio(samples, rate, codec=codec, muxer=muxer, bit_rate=bit_rate)


@pytest.mark.parametrize(
    ("codec", "muxer", "mime", "out_codec"),
    [
        ("pcm_s16le", "wav", "audio/wav", "pcm_s16le"),
        ("flac", "flac", "audio/flac", "flac"),
        ("libmp3lame", "mp3", "audio/mpeg", "mp3"),
        ("aac", "ipod", "audio/mp4", "aac"),
    ],
)
def test_every_container_comes_back_in_its_codec_with_its_tags_and_the_mark(
    speech: tuple[np.ndarray, int], codec: str, muxer: str, mime: str, out_codec: str
) -> None:
    samples, rate = speech
    given = encode_audio(samples, rate, codec=codec, muxer=muxer, bit_rate=96_000, tags={"title": "ferry"})
    marked = mark_audio(given, AudioWatermarker(RING), record_id=0xA0D10)
    assert sniff_media(marked.data) == mime and probe_audio(marked.data).codec.startswith(out_codec)
    assert 30 < marked.snr_db < 45 and abs(marked.seconds - len(samples) / rate) < 0.1
    import av

    with av.open(io.BytesIO(marked.data)) as f:
        assert f.metadata.get("title") == "ferry"
    d = detect_audio(marked.data, AudioWatermarkDetector(RING))
    assert d.found and d.payload is not None and d.payload.record_id == 0xA0D10 and d.p_value <= 1e-6
    assert d.spans and d.spans[0].start < 1.0


def _wav_header(rate: int, channels: int = 1, frames: int = 1000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * channels * frames)
    data = bytearray(buf.getvalue())
    data[24:28] = struct.pack("<I", rate)  # the header now declares another rate
    return bytes(data)


def test_hostile_and_unsuitable_files_are_refused_in_words(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    wav = encode_audio(samples, rate)
    marker = AudioWatermarker(RING)
    with pytest.raises(InvalidInput, match="sample rate"):
        probe_audio(_wav_header(7_000_000))
    with pytest.raises(InvalidInput, match=r"no audio stream|cannot read"):
        mark_audio(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, marker)
    with pytest.raises(PayloadTooLarge, match="at most 6 s"):
        mark_audio(wav, marker, max_seconds=6.0)
    with pytest.raises(InvalidInput, match="at least"):
        mark_audio(encode_audio(samples[: 3 * rate], rate), marker)
    with pytest.raises(InvalidInput, match="does not read back"):  # silence cannot carry it: nothing written
        mark_audio(encode_audio(np.zeros(7 * rate), rate), marker)
    truncated = detect_audio(wav[: len(wav) // 3], AudioWatermarkDetector(RING))  # reads what is there
    assert not truncated.found and truncated.seconds < len(samples) / rate / 2
    assert read_audio(wav, max_seconds=6.0)[0].shape[0] == 6 * rate  # detection decodes only its stretch


def test_a_spoken_sound_signed_and_recorded_is_recovered_after_stripping(tmp_path: Path) -> None:
    store = ManifestStore.open(f"sqlite:///{tmp_path / 'store.db'}")
    creds = ensure_dev_credentials(tmp_path / "ca")
    signed: list[bytes] = []

    def sign(payload: Payload, marked: np.ndarray, rate: int) -> None:
        wav = encode_audio(marked, rate)
        bound = sign_and_store(
            wav, "audio/wav", payload.to_bytes(), creds, store, title="tts", model="espeak-ng", alg=AUDIO_ALG
        )
        signed.append(bound.signed.data)

    tts = WatermarkingAudioGenerator(speak, AudioWatermarker(RING), on_marked=sign, record_ids=lambda: 0x5EED)
    samples, rate = tts()  # the generator's own (samples, rate), marked
    assert isinstance(samples, np.ndarray) and samples.ndim == 1 and rate == 22_050 and len(tts.payloads) == 1
    stripped = reencode(signed[0], "libmp3lame", "mp3", 128_000)  # credentials gone, re-encoded
    report = inspect_media(
        stripped, "audio/mpeg", audio_detector=AudioWatermarkDetector(RING), store=store, trust_anchors=[creds.root_pem]
    )
    assert report.provenance is not None and not report.provenance.present
    assert report.recovered is not None and report.recovered.soft_binding_alg == AUDIO_ALG
    assert report.verdict == "ai" and report.watermarks[0].time_spans
    # a batch of mappings, as the transformers text-to-audio pipeline returns them ((channels, n) kept)
    batch = WatermarkingAudioGenerator(
        lambda: [{"audio": np.stack([samples, samples]).astype(np.float32), "sampling_rate": rate}] * 2,
        AudioWatermarker(RING),
    )()
    assert [b["audio"].shape for b in batch] == [(2, len(samples))] * 2 and batch[0]["audio"].dtype == np.float32
    with pytest.raises(InvalidInput, match="cannot watermark"):
        WatermarkingAudioGenerator(lambda: "speech", AudioWatermarker(RING))()


def talking_clip(samples: np.ndarray, rate: int, fps: int = 5) -> bytes:
    """An H.264 MP4 (a drifting texture, 320x256) with ``samples`` as its AAC soundtrack."""
    import av

    buf = io.BytesIO()
    y, x = np.mgrid[0:256, 0:320]
    rng = np.random.default_rng(1)
    with av.open(buf, "w", format="mp4") as c:
        v = c.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = 320, 256, "yuv420p"  # type: ignore[union-attr]
        a = c.add_stream("aac", rate=rate)
        a.layout, a.bit_rate = "mono", 128_000  # type: ignore[union-attr]
        for i in range(int(len(samples) / rate * fps)):
            base = np.stack([128 + 60 * np.sin((x + 3 * i) / 23), 128 + 50 * np.cos(y / 17), 128 + 0 * x], -1)
            img = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):  # type: ignore[union-attr]
                c.mux(p)
        for p in v.encode(None):  # type: ignore[union-attr]
            c.mux(p)
        sound = av.AudioFrame.from_ndarray(samples[None, :].astype(np.float32), format="fltp", layout="mono")
        sound.sample_rate = rate
        for p in [*a.encode(sound), *a.encode(None)]:  # type: ignore[union-attr]
            c.mux(p)
    return buf.getvalue()


def test_a_videos_soundtrack_carries_the_frames_payload_and_leads_back_alone(
    speech: tuple[np.ndarray, int], tmp_path: Path
) -> None:
    from provenance.soft_binding import VIDEO_ALG
    from watermark.image import ImageWatermarkDetector
    from watermark.video import VideoMarker, detect_video, mark_video

    samples, rate = speech
    marked = mark_video(talking_clip(samples, rate), VideoMarker(RING), audio=AudioWatermarker(RING), record_id=0xF11E)
    assert marked.soundtrack_snr_db is not None and 30 < marked.soundtrack_snr_db < 45
    heard = detect_audio(marked.data, AudioWatermarkDetector(RING))
    seen = detect_video(marked.data, ImageWatermarkDetector(RING))
    assert heard.found and seen.found and heard.payload == seen.payload == marked.payload
    store = ManifestStore.open(f"sqlite:///{tmp_path / 'store.db'}")
    creds = ensure_dev_credentials(tmp_path / "ca")
    payload = marked.payload.to_bytes()
    sign_and_store(marked.data, "video/mp4", payload, creds, store, title="v", model="m", alg=(VIDEO_ALG, AUDIO_ALG))
    ripped = reencode(marked.data, "aac", "ipod", 128_000)  # the voice alone, taken from the video
    report = inspect_media(ripped, "audio/mp4", audio_detector=AudioWatermarkDetector(RING), store=store)
    assert report.recovered is not None and report.recovered.soft_binding_alg == AUDIO_ALG
    silent = mark_video(talking_clip(samples[: 3 * rate], rate), VideoMarker(RING), audio=AudioWatermarker(RING))
    assert silent.soundtrack_snr_db is None and silent.soundtrack_note and "at least" in silent.soundtrack_note
