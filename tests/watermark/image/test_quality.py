"""The SSIM the embedder steers by equals scikit-image's on real marked images."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from watermark.image import ImageWatermarker
from watermark.image.quality import Clipped, SsimReference


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


def test_the_strided_windows_are_skimage_windows_and_a_banded_sample_counts_only_whole_windows(
    astronaut: np.ndarray,
) -> None:
    """The reference built on bands of rows stacked together scores exactly the mean of the
    windows that lie inside one band (those straddling two bands are left out)."""
    rng = np.random.default_rng(3)
    change = rng.integers(-3, 4, astronaut.shape[:2]).astype(np.float32)
    band, starts = 21, [30, 200, 370, 440]
    rows = np.concatenate([np.arange(s, s + band) for s in starts])
    stacked = SsimReference(astronaut[rows], peak=255.0, band=band).mean_ssim_change(change[rows])
    per_band = [SsimReference(astronaut[s : s + band], peak=255.0) for s in starts]
    # each band alone: 5 rows of windows (starting at rows 0, 3, .., 12 of the band), all inside it
    expected = np.mean([r.mean_ssim_change(change[s : s + band]) for r, s in zip(per_band, starts, strict=True)])
    assert stacked == pytest.approx(expected, abs=1e-6)


def test_a_common_change_with_clipped_pixels_scores_what_the_clipped_image_scores(astronaut: np.ndarray) -> None:
    """The embedder's fast path (one change for every channel, the pixels where a channel clips
    given as corrections) equals SSIM computed channel by channel on the clipped image."""
    rng = np.random.default_rng(5)
    change = rng.integers(-40, 41, astronaut.shape[:2]).astype(np.float32)  # large: many pixels clip
    clipped_image = np.clip(astronaut.astype(np.float32) + change[..., None], 0, 255)
    rows, cols = np.nonzero(np.any(clipped_image != astronaut + change[..., None], axis=2))
    assert len(rows) > 1000
    x = astronaut[rows, cols].astype(np.float32)
    moved = change[rows, cols]
    excess = clipped_image[rows, cols] - x - moved[:, None]
    reference = SsimReference(astronaut, peak=255.0)
    fast = reference.mean_ssim_change(change, Clipped(rows, cols, x, moved, excess))
    assert fast == pytest.approx(reference.mean_ssim(clipped_image), abs=1e-5)
    assert fast != pytest.approx(reference.mean_ssim_change(change), abs=1e-3)  # the corrections matter


def test_integer_pixels_are_marked_in_their_dtype_with_one_change_for_every_channel(
    astronaut: np.ndarray, marker: ImageWatermarker
) -> None:
    """8-bit input comes back as 8-bit, equal to what integer-valued float32 input gives; every
    channel moved by the same amount (hue kept) except where one clips; the SSIM the embedder
    measured is the floor or better on the very pixels returned."""
    marked, _ = marker.mark_pixels(astronaut, peak=255.0, record_id=7)
    assert marked.dtype == np.uint8
    as_float, _ = marker.mark_pixels(astronaut.astype(np.float32), peak=255.0, record_id=7)
    assert as_float.dtype == np.float32 and np.array_equal(as_float, marked)
    change = marked.astype(np.int16) - astronaut
    inside = np.all((marked > 0) & (marked < 255), axis=2)
    assert np.array_equal(change[..., 0][inside], change[..., 1][inside])
    assert np.array_equal(change[..., 0][inside], change[..., 2][inside])
    assert np.any(change != 0)
    assert SsimReference(astronaut, peak=255.0).mean_ssim(marked) >= 0.981
