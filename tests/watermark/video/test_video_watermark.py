"""The video mark through real encoders (PyAV's FFmpeg): the payload back from the file as is,
after an H.264 re-encode at CRF 28 and from a 1 s excerpt; still over time; unmarked video and
other keys find nothing; files it cannot mark are refused in words."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from watermark.errors import InvalidInput, PayloadTooLarge
from watermark.image import ImageWatermarkDetector
from watermark.keys import KeyRing, Secret, WatermarkKey
from watermark.video import VideoMarker, detect_frames, detect_video, mark_video, probe_video

RING = KeyRing([WatermarkKey("v", "kgw", Secret(b"v" * 32))])
OTHER = KeyRing([WatermarkKey("w", "kgw", Secret(b"w" * 32))])


def clip(width: int = 320, height: int = 256, frames: int = 20, codec: str = "libx264", crf: str = "18") -> bytes:
    """A moving, textured test clip with a silent AAC track."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as c:
        v = c.add_stream(codec, rate=10, options={"crf": crf, "preset": "veryfast"} if codec == "libx264" else {})
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"  # type: ignore[union-attr]
        a = c.add_stream("aac", rate=44_100)
        a.layout = "mono"  # type: ignore[union-attr]
        for i in range(frames):
            base = np.stack([128 + 60 * np.sin((x + 3 * i) / 23), 128 + 50 * np.cos((y - 2 * i) / 17), 128 + 0 * x], -1)
            img = np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
            for p in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):  # type: ignore[union-attr]
                c.mux(p)
        for p in v.encode(None):  # type: ignore[union-attr]
            c.mux(p)
        sound = av.AudioFrame.from_ndarray(np.zeros((1, 88_200), np.float32), format="fltp", layout="mono")
        sound.sample_rate = 44_100
        for p in [*a.encode(sound), *a.encode(None)]:  # type: ignore[union-attr]
            c.mux(p)
    return buf.getvalue()


def reencode(data: bytes, *, crf: str = "28", first: int = 0, count: int | None = None) -> bytes:
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as src, av.open(out, "w", format="mp4") as dst:
        vin = src.streams.video[0]
        v = dst.add_stream("libx264", rate=vin.average_rate, options={"crf": crf, "preset": "veryfast"})
        v.width, v.height, v.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"  # type: ignore[union-attr]
        for i, frame in enumerate(src.decode(vin)):
            if i < first or (count is not None and i >= first + count):
                continue
            new = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            for p in v.encode(new):  # type: ignore[union-attr]
                dst.mux(p)
        for p in v.encode(None):  # type: ignore[union-attr]
            dst.mux(p)
    return out.getvalue()


@pytest.fixture(scope="module")
def marked() -> tuple[bytes, bytes, int]:
    original = clip()
    out = mark_video(original, VideoMarker(RING), record_id=0x0123456789AB)
    assert out.frames == 20 and out.key_id == "v" and out.psnr_min >= 39.5
    return original, out.data, out.payload.record_id


def test_the_payload_comes_back_from_the_file_a_re_encode_and_an_excerpt(marked: tuple[bytes, bytes, int]) -> None:
    _, data, record = marked
    with av.open(io.BytesIO(data)) as c:  # the container, codec and audio track are kept
        assert [s.type for s in c.streams] == ["video", "audio"] and c.streams.video[0].codec_context.name == "h264"
    detector = ImageWatermarkDetector(RING)
    for copy in (data, reencode(data, crf="28"), reencode(data, first=8, count=10)):
        d = detect_video(copy, detector)
        assert d.found and d.payload is not None and d.payload.record_id == record, d
        assert d.p_value == d.decodes * 2.0**-48 <= 1e-6


def test_the_mark_is_still_and_absent_where_it_was_not_put(marked: tuple[bytes, bytes, int]) -> None:
    original, data, _ = marked
    frame = np.full((256, 320, 3), 128, np.uint8)
    plan = VideoMarker(RING).plan(frame, record_id=1)
    assert np.array_equal(plan.apply(frame), plan.apply(frame.copy()))  # one change for every frame
    for video, ring in ((original, RING), (data, OTHER)):
        d = detect_video(video, ImageWatermarkDetector(ring))
        assert not d.found and d.p_value == 1.0 and d.frames_read >= 10  # key frames, then a dense sample


def test_a_dense_reading_decodes_only_the_seconds_its_byte_budget_holds(marked: tuple[bytes, bytes, int]) -> None:
    original, _, _ = marked  # 2 s at 10 fps, one key frame
    detector = ImageWatermarkDetector(RING)
    full = detect_video(original, detector)  # the dense reading: every other frame of the 2 s
    tight = detect_video(original, detector, dense_bytes=len(original) // 8)  # the frames of the first 0.25 s
    assert not full.found and not tight.found
    assert (full.frames_read, tight.frames_read) == (1 + 10, 1 + 3)


def test_of_n_frames_the_mean_and_at_most_n_minus_1_are_read_singly() -> None:
    with av.open(io.BytesIO(clip())) as c:
        frame = next(f.to_ndarray(format="rgb24") for f in c.decode(video=0))
    detector = ImageWatermarkDetector(RING)  # the same unmarked frame n times: every reading decodes alike
    once = detect_frames([frame], detector).decodes
    assert once > 0
    assert [detect_frames([frame] * n, detector).decodes for n in (2, 3, 5)] == [2 * once, 3 * once, 4 * once]


def test_the_budget_refuses_before_decoding_what_the_header_declares() -> None:
    data = clip(frames=20)
    with pytest.raises(PayloadTooLarge, match="declares 20 frames of 320x256"):
        mark_video(data, VideoMarker(RING), max_pixel_frames=320 * 256 * 19)
    with pytest.raises(PayloadTooLarge, match="frame is over"):
        mark_video(data, VideoMarker(RING), max_pixel_frames=320 * 255)
    assert mark_video(data, VideoMarker(RING), max_pixel_frames=320 * 256 * 20).frames == 20


def test_a_codec_ffmpeg_does_not_know_is_refused_in_words_everywhere() -> None:
    unknown = clip(width=160, height=128, frames=4).replace(b"avc1", b"zzzz")  # found by fuzzing: was a crash
    for call in (
        lambda: probe_video(unknown),
        lambda: detect_video(unknown, ImageWatermarkDetector(RING)),
        lambda: mark_video(unknown, VideoMarker(RING)),
    ):
        with pytest.raises(InvalidInput, match="cannot decode"):
            call()


def test_videos_it_cannot_mark_are_refused_in_words() -> None:
    with pytest.raises(InvalidInput, match="at least"):
        mark_video(clip(width=192, height=128, frames=2), VideoMarker(RING))
    with pytest.raises(InvalidInput):
        mark_video(b"\x00\x00\x00\x18ftypmp42 not really a video", VideoMarker(RING))


def test_the_luma_change_is_the_signed_step_clipped_to_8_bits() -> None:
    from watermark.image.payload import Payload
    from watermark.video.embed import FramePlan

    rng = np.random.default_rng(4)
    plan = FramePlan(rng.normal(0, 3, (72, 128)).astype(np.float32), "v", Payload.for_key("v", 1))
    plane = rng.integers(0, 256, (72, 128), dtype=np.uint8)
    plane[0, :8] = (0, 1, 2, 253, 254, 255, 0, 255)  # the ends, where saturation decides
    for full_range in (True, False):
        step = plan.luma_step(full_range)
        expected = np.clip(plane.astype(np.int16) + step, 0, 255).astype(np.uint8)
        assert np.array_equal(FramePlan.apply_luma(plane, plan.luma_steps(full_range)), expected)
