"""Fixtures for the image watermark tests: key rings and real photographs from scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from watermark.image import ImageWatermarkDetector, ImageWatermarker
from watermark.keys import KeyRing, Secret, WatermarkKey


def square(arr: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square and resize with LANCZOS."""
    h, w = arr.shape[:2]
    s = min(h, w)
    arr = arr[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return np.asarray(Image.fromarray(arr).resize((size, size), Image.LANCZOS))


@pytest.fixture(scope="session")
def image_ring() -> KeyRing:
    return KeyRing(
        [
            WatermarkKey("img-2025", "kgw", Secret(b"image-test-secret-2025-0000000000")),
            WatermarkKey("img-2026", "kgw", Secret(b"image-test-secret-2026-0000000000")),
        ],
        active="img-2026",
    )


@pytest.fixture(scope="session")
def marker(image_ring: KeyRing) -> ImageWatermarker:
    return ImageWatermarker(image_ring)


@pytest.fixture(scope="session")
def detector(image_ring: KeyRing) -> ImageWatermarkDetector:
    return ImageWatermarkDetector(image_ring)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return square(skdata.astronaut(), 512)


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    return square(skdata.camera(), 512)


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    return skdata.coffee()  # 400 x 600, not square
