"""Embedding and detection on real photographs, through the attacks the scheme is built for."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from watermark.errors import InvalidInput, UnknownKey
from watermark.image import ImageWatermarkDetector, ImageWatermarker
from watermark.keys import KeyRing, Secret, WatermarkKey

RECORD = 0xA55A_1234_5678


def _mark(marker: ImageWatermarker, img: np.ndarray, **kw: object) -> np.ndarray:
    marked, _ = marker.mark_pixels(img.astype(np.float32), peak=255.0, record_id=RECORD, **kw)  # type: ignore[arg-type]
    return np.rint(marked).astype(np.uint8)


def _jpeg(a: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=q, subsampling=2)
    return np.asarray(Image.open(buf))


def _rotate(a: np.ndarray, deg: float) -> np.ndarray:
    h, w = a.shape[:2]
    return cv2.warpAffine(a, cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0), (w, h))


ATTACKS = {
    "none": lambda a: a,
    "jpeg50": lambda a: _jpeg(a, 50),
    "resize0.5": lambda a: cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=cv2.INTER_AREA),
    "crop0.5-offset": lambda a: a[a.shape[0] - 362 :, 40 : 40 + 362],
    "rotate5": lambda a: _rotate(a, 5),
    "rotate90": lambda a: np.ascontiguousarray(np.rot90(a)),
    "aspect1.25": lambda a: cv2.resize(a, (a.shape[1] * 5 // 4, a.shape[0]), interpolation=cv2.INTER_CUBIC),
    "shear5": lambda a: cv2.warpAffine(
        a, np.array([[1.0, np.tan(np.radians(5)), -256 * np.tan(np.radians(5))], [0, 1, 0]]), (512, 512)
    ),
    "brightness0.5": lambda a: (a * 0.5).astype(np.uint8),
}


def test_quality_meets_the_targets(marker: ImageWatermarker, astronaut: np.ndarray, camera: np.ndarray) -> None:
    for img in (astronaut, camera):
        marked = _mark(marker, img)
        mse = np.mean((marked.astype(float) - img) ** 2)
        assert 10 * np.log10(255**2 / mse) >= 42.0
        ssim = structural_similarity(img, marked, channel_axis=2 if img.ndim == 3 else None, data_range=255)
        assert ssim >= 0.98


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_survives(
    attack: str, marker: ImageWatermarker, detector: ImageWatermarkDetector, astronaut: np.ndarray
) -> None:
    attacked = ATTACKS[attack](_mark(marker, astronaut))
    d = detector.detect_pixels(attacked.astype(np.float32), peak=255.0)
    assert d.found, d.to_dict()
    assert d.key_id == "img-2026" and d.payload is not None and d.payload.record_id == RECORD
    assert d.p_value <= d.fpr
    if attack in ("none", "jpeg50", "rotate90"):  # the untouched geometry; quarter turns come from the pilot
        assert not d.searched and d.decodes <= 2 * 32  # at most one list decode per key of the ring
    if attack in ("rotate5", "resize0.5", "aspect1.25", "shear5"):
        assert d.searched
    if attack == "aspect1.25":
        assert d.geometry["aspect"] == pytest.approx(1.25, abs=0.01) and abs(d.geometry["shear"]) < 0.5
    if attack == "shear5":  # x' = x + tan(5 deg) y: the tile's y axis leans 5 degrees
        assert d.geometry["shear"] == pytest.approx(5.0, abs=0.3) and d.geometry["aspect"] == pytest.approx(
            1.0, abs=0.01
        )


def test_grey_and_non_square_images(
    marker: ImageWatermarker, detector: ImageWatermarkDetector, camera: np.ndarray, coffee: np.ndarray
) -> None:
    for img in (camera, coffee):
        d = detector.detect_pixels(_jpeg(_mark(marker, img), 75).astype(np.float32), peak=255.0)
        assert d.found and d.payload is not None and d.payload.record_id == RECORD


def test_unmarked_and_foreign_marks_are_not_found(
    marker: ImageWatermarker, detector: ImageWatermarkDetector, astronaut: np.ndarray, camera: np.ndarray
) -> None:
    for img in (astronaut, camera):
        d = detector.detect_pixels(img.astype(np.float32), peak=255.0)
        assert not d.found and d.p_value == 1.0 and d.payload is None and d.decodes >= 2
    stranger = ImageWatermarker(KeyRing([WatermarkKey("other", "kgw", Secret(b"not-in-the-ring-000000000"))]))
    d = detector.detect_pixels(_mark(stranger, astronaut).astype(np.float32), peak=255.0)
    assert not d.found


def test_rotation_old_keys_still_detected_and_restriction(
    marker: ImageWatermarker, detector: ImageWatermarkDetector, astronaut: np.ndarray
) -> None:
    marked = _mark(marker, astronaut, key_id="img-2025")
    d = detector.detect_pixels(marked.astype(np.float32), peak=255.0)
    assert d.found and d.key_id == "img-2025"
    assert not detector.restricted_to("img-2026").detect_pixels(marked.astype(np.float32), peak=255.0).found
    with pytest.raises(UnknownKey):
        detector.restricted_to("nope")
    with pytest.raises(UnknownKey):
        _mark(marker, astronaut, key_id="nope")


def test_a_geometry_found_once_reads_another_picture_without_a_search(
    marker: ImageWatermarker, detector: ImageWatermarkDetector, astronaut: np.ndarray, camera: np.ndarray
) -> None:
    first = detector.detect_pixels(_rotate(_mark(marker, astronaut), 5).astype(np.float32), peak=255.0)
    assert first.found and first.searched and len(first.tried) >= 2  # the untouched geometry, then the search's
    # another picture of its size under the same distortion (every frame of one video): read at those only
    again = detector.detect_pixels(_rotate(_mark(marker, camera), 5).astype(np.float32), peak=255.0, at=first.tried)
    assert again.found and not again.searched and again.payload is not None and again.payload.record_id == RECORD
    assert again.decodes <= first.decodes and again.geometry["angle"] == pytest.approx(first.geometry["angle"])
    assert not detector.detect_pixels(_rotate(camera, 5).astype(np.float32), peak=255.0, at=first.tried).found
    unturned = detector.detect_pixels(
        _rotate(_mark(marker, camera), 5).astype(np.float32), peak=255.0, at=first.tried[:1]
    )
    assert not unturned.found and not unturned.searched  # the untouched geometry alone: no search behind it


def test_p_value_is_the_union_bound_over_decodes(
    marker: ImageWatermarker, detector: ImageWatermarkDetector, astronaut: np.ndarray
) -> None:
    d = detector.detect_pixels(_rotate(_mark(marker, astronaut), 3).astype(np.float32), peak=255.0)
    assert d.found and d.p_value == pytest.approx(d.decodes * 2.0**-48)


def test_sizes_below_the_minimums(marker: ImageWatermarker, detector: ImageWatermarkDetector) -> None:
    with pytest.raises(InvalidInput, match="256 px"):
        marker.mark_pixels(np.zeros((200, 400, 3), np.float32), peak=255.0, record_id=1)
    d = detector.detect_pixels(np.zeros((100, 100), np.float32), peak=255.0)
    assert not d.found and d.to_dict()["verdict"] == "too-small"
    flat = detector.detect_pixels(np.full((300, 300), 128.0, np.float32), peak=255.0)  # no texture at all
    assert not flat.found


def test_constructor_arguments_are_checked(image_ring: KeyRing) -> None:
    with pytest.raises(ValueError):
        ImageWatermarker(image_ring, psnr=10)
    with pytest.raises(ValueError):
        ImageWatermarkDetector(image_ring, fpr=0)
