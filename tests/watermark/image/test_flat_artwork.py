"""Flat digital artwork (a chart on white, a cartoon): quality floors and the attacks flat content meets."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from eval.flat_artwork import flat_artwork
from watermark.image import ImageWatermarkDetector, ImageWatermarker

RECORD = 0x0F1A_7A27


def _encode(a: np.ndarray, fmt: str, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, fmt, quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


@pytest.fixture(scope="module")
def artwork() -> dict[str, np.ndarray]:
    return {name.split("@")[0]: img for name, img in flat_artwork() if name.split("@")[0] in ("chart", "cartoon")}


@pytest.mark.parametrize("name", ["chart", "cartoon"])
def test_quality_floors_and_compression(
    name: str, artwork: dict[str, np.ndarray], marker: ImageWatermarker, detector: ImageWatermarkDetector
) -> None:
    img = artwork[name]
    marked = np.rint(marker.mark_pixels(img.astype(np.float32), peak=255.0, record_id=RECORD)[0]).astype(np.uint8)
    mse = np.mean((marked.astype(float) - img) ** 2)
    assert 10 * np.log10(255**2 / mse) >= 42.0
    assert structural_similarity(img, marked, channel_axis=2, data_range=255) >= 0.98
    for attacked in (_encode(marked, "WEBP", 70), _encode(marked, "JPEG", 90)):
        d = detector.detect_pixels(attacked.astype(np.float32), peak=255.0)
        assert d.found and d.payload is not None and d.payload.record_id == RECORD, d.to_dict()


def test_aspect_change_is_inverted(
    artwork: dict[str, np.ndarray], marker: ImageWatermarker, detector: ImageWatermarkDetector
) -> None:
    img = artwork["cartoon"]
    marked = np.rint(marker.mark_pixels(img.astype(np.float32), peak=255.0, record_id=RECORD)[0]).astype(np.uint8)
    h, w = marked.shape[:2]
    squeezed = np.asarray(Image.fromarray(marked).resize((round(w * 0.8), h), Image.LANCZOS))
    d = detector.detect_pixels(_encode(squeezed, "JPEG", 90).astype(np.float32), peak=255.0)
    assert d.found and d.searched and d.payload is not None and d.payload.record_id == RECORD
    assert d.geometry["aspect"] == pytest.approx(0.8, abs=0.01)
    assert d.geometry["shear"] == pytest.approx(0.0, abs=0.5)
