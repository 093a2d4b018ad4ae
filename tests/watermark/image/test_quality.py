"""The SSIM the embedder steers by equals scikit-image's on real marked images."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from watermark.image import ImageWatermarker
from watermark.image.quality import SsimReference


@pytest.mark.parametrize("image", ["astronaut", "camera"])
def test_matches_scikit_image(image: str, marker: ImageWatermarker, request: pytest.FixtureRequest) -> None:
    img: np.ndarray = request.getfixturevalue(image)
    marked, _ = marker.mark_pixels(img.astype(np.float32), peak=255.0, record_id=7)
    rounded = np.rint(marked)
    expected = structural_similarity(
        img, rounded.astype(np.uint8), channel_axis=2 if img.ndim == 3 else None, data_range=255
    )
    got = SsimReference(img.astype(np.float32), peak=255.0).mean_ssim(rounded)
    assert got == pytest.approx(expected, abs=1e-3)  # every third window: within sampling error
    assert SsimReference(img.astype(np.float32), peak=255.0).mean_ssim(img.astype(np.float32)) == pytest.approx(1.0)


def test_sixteen_bit_scale_and_shape_checks(astronaut: np.ndarray) -> None:
    wide = astronaut.astype(np.float32) * 257.0
    noisy = wide + np.random.default_rng(0).normal(0, 257.0, wide.shape).astype(np.float32)
    expected = structural_similarity(wide, noisy, channel_axis=2, data_range=65535)
    assert SsimReference(wide, peak=65535.0).mean_ssim(noisy) == pytest.approx(expected, abs=2e-3)
    with pytest.raises(ValueError, match="shape"):
        SsimReference(wide, peak=65535.0).mean_ssim(wide[:100])
    with pytest.raises(ValueError, match="larger"):
        SsimReference(wide[:10, :10], peak=65535.0)
