"""The video generation wrapper: whatever a generator returns comes back marked in its own type, one
record per video; encoded, signed and recorded, a stripped and re-encoded copy leads back to its
credentials through the mark."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from detect.inspect import inspect_media
from provenance.credentials import ensure_dev_credentials
from provenance.soft_binding import VIDEO_ALG, sign_and_store
from provenance.store import ManifestStore
from tests.watermark.video.test_video_watermark import RING, reencode
from watermark.errors import InvalidInput
from watermark.image import ImageWatermarkDetector
from watermark.image.payload import Payload
from watermark.video import VideoMarker, WatermarkingVideoGenerator, detect_video, encode_video

U8 = np.ndarray


def frames(n: int = 8, seed: int = 0, height: int = 256, width: int = 320) -> U8:
    """A short generated-looking clip: a drifting smooth pattern with a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    out = []
    for i in range(n):
        base = np.stack([128 + 60 * np.sin((x + 4 * i) / 19), 128 + 50 * np.cos((y + seed) / 13), 100 + 0 * x], -1)
        out.append(np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8))
    return np.stack(out)


def found(video: Sequence[U8] | U8) -> Payload | None:
    d = detect_video(encode_video(list(video), fps=10), ImageWatermarkDetector(RING))
    return d.payload if d.found else None


def test_every_output_type_comes_back_marked_in_its_own_type() -> None:
    marker = VideoMarker(RING)
    wrapped = WatermarkingVideoGenerator(lambda: frames(), marker)
    out = wrapped()
    assert out.shape == (8, 256, 320, 3) and out.dtype == np.uint8 and found(out) == wrapped.payloads[0]
    batch = WatermarkingVideoGenerator(
        lambda: np.stack([frames(seed=1), frames(seed=2)]).astype(np.float32) / 255, marker
    )
    videos = batch()
    assert videos.dtype == np.float32 and len(batch.payloads) == 2 and videos.max() <= 1.0
    assert found((videos[1] * 255).round().astype(np.uint8)) == batch.payloads[1]
    seen: list[tuple[Payload, int]] = []
    pipeline = SimpleNamespace(frames=[[Image.fromarray(f) for f in frames(seed=3)]])  # a diffusers-style output
    lists = WatermarkingVideoGenerator(lambda: pipeline, marker, on_marked=lambda p, fr: seen.append((p, len(fr))))
    result = lists()
    assert result is pipeline and isinstance(result.frames[0][0], Image.Image)
    assert seen == [(lists.payloads[0], 8)] and found([np.asarray(f) for f in result.frames[0]]) == seen[0][0]

    def stream() -> Iterator[U8]:
        yield from frames(seed=4)

    lazy = WatermarkingVideoGenerator(stream, marker, record_ids=lambda: 77)
    marked = list(lazy())
    assert found(marked) == lazy.payloads[0] and lazy.payloads[0].record_id == 77


def test_outputs_it_cannot_mark_are_refused_in_words() -> None:
    marker = VideoMarker(RING)
    with pytest.raises(InvalidInput, match="type str"):
        WatermarkingVideoGenerator(lambda: "not a video", marker)()
    with pytest.raises(InvalidInput, match="uint8 or float"):
        WatermarkingVideoGenerator(lambda: frames().astype(np.int64), marker)()
    with pytest.raises(InvalidInput, match="even frame size"):
        encode_video([np.zeros((255, 320, 3), np.uint8)])
    with pytest.raises(InvalidInput, match="at least one frame"):
        encode_video([])
    with pytest.raises(TypeError):
        WatermarkingVideoGenerator("nope", marker)  # type: ignore[arg-type]


def test_a_generated_video_signed_and_recorded_is_recovered_after_stripping(tmp_path: Path) -> None:
    store = ManifestStore.open(f"sqlite:///{tmp_path / 'store.db'}")
    creds = ensure_dev_credentials(tmp_path / "ca")
    signed: list[bytes] = []

    def sign(payload: Payload, marked: Sequence[U8]) -> None:
        bound = sign_and_store(
            encode_video(marked, fps=10),
            "video/mp4",
            payload.to_bytes(),
            creds,
            store,
            title="g",
            model="gen-v",
            alg=VIDEO_ALG,
        )
        signed.append(bound.signed.data)

    WatermarkingVideoGenerator(lambda: frames(n=20, seed=5), VideoMarker(RING), on_marked=sign)()
    stripped = reencode(signed[0], crf="28")
    report = inspect_media(
        stripped, "video/mp4", video_detector=ImageWatermarkDetector(RING), store=store, trust_anchors=[creds.root_pem]
    )
    assert report.provenance is not None and not report.provenance.present
    assert report.recovered is not None and report.recovered.soft_binding_alg == VIDEO_ALG
    assert report.recovered.manifest.signer is not None and report.verdict == "ai"
