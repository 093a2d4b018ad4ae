"""One inspection for any content: the kind decides the checks; an image's header is read once and
its pixels decoded inside the caller's budget; limits hold on a header read without them."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from detect.content import Content
from detect.inspect import Checks, inspect
from tests.provenance.media_fixtures import wav_bytes
from watermark.errors import ConfigurationError, PayloadTooLarge
from watermark.image import ImageWatermarkDetector
from watermark.keys import KeyRing, Secret, WatermarkKey

DETECTOR = ImageWatermarkDetector(KeyRing([WatermarkKey("img", "kgw", Secret(b"inspect-test-secret-0000000000"))]))


def _png(width: int, height: int) -> bytes:
    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_an_image_is_decoded_inside_the_budget_with_the_header_read_once() -> None:
    content = Content.of_bytes(_png(96, 64))
    assert content.kind == "image" and content.header is not None and content.header.pixels == 96 * 64
    held: list[int] = []

    @contextlib.contextmanager
    def budget(pixels: int) -> Iterator[None]:
        held.append(pixels)
        yield

    report = inspect(content, Checks(image_detector=DETECTOR, decoding=budget))
    assert held == [content.header.check_bytes]  # the classification's header, not a second read
    assert report.content_type == "image/png" and report.watermarks[0].scheme == "assay-image-ss"
    assert "ai_likelihood" in report.not_checked and "recovered" in report.not_checked


def test_the_pixel_limit_holds_on_a_header_read_without_it() -> None:
    content = Content.of_bytes(_png(96, 64))
    with pytest.raises(PayloadTooLarge, match="the limit is 1,000"):
        inspect(content, Checks(image_detector=DETECTOR, max_pixels=1000))


def test_a_kind_without_its_collaborator_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="text checks"):
        inspect(Content.of_text("A short text to check."), Checks(image_detector=DETECTOR))
    with pytest.raises(ConfigurationError, match="image watermark detector"):
        inspect(Content.of_bytes(_png(32, 32)), Checks())


def test_audio_is_checked_for_credentials_only() -> None:
    content = Content.of_bytes(wav_bytes())
    assert content.kind == "media" and content.mime == "audio/wav"
    report = inspect(content, Checks())
    assert report.provenance is not None and not report.provenance.present
    assert not report.watermarks and set(report.not_checked) >= {"watermark", "ai_likelihood"}


def test_skipped_checks_are_named_in_plain_words() -> None:
    from detect.verdict import assemble

    text = assemble(content_type="text/plain", content_sha256="0" * 64, not_checked=("ai_likelihood",))
    assert "Not checked: AI-likelihood (turned off, or no human reference for the configured model)" in text.details
    audio = assemble(content_type="audio/wav", content_sha256="0" * 64, not_checked=("ai_likelihood",))
    assert "Not checked: AI-likelihood (texts only)" in audio.details
