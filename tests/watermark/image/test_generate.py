"""The generator wrapper, with a small deterministic generator written for the tests."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from PIL import Image

from watermark.errors import InvalidInput
from watermark.image import ImageWatermarkDetector, ImageWatermarker, Payload, WatermarkingGenerator


def tiny_generator(seed: int, size: int = 320) -> np.ndarray:
    """A deterministic 'image model': smooth coloured noise with some edges."""
    rng = np.random.default_rng(seed)
    x = cv2.GaussianBlur(rng.random((size, size, 3)).astype(np.float32), (0, 0), 6)
    x = (x - x.min()) / (x.max() - x.min())
    x[size // 3 : size // 2, :, 0] = 0.9
    return np.asarray(x * 255, dtype=np.uint8)


@dataclass
class PipelineOutput:
    images: list[Image.Image]
    nsfw_content_detected: list[bool]


def pipeline(prompt: str, num_images_per_prompt: int = 1) -> PipelineOutput:
    seed = sum(prompt.encode())
    imgs = [Image.fromarray(tiny_generator(seed + i)) for i in range(num_images_per_prompt)]
    return PipelineOutput(imgs, [False] * num_images_per_prompt)


def _found(img: np.ndarray, detector: ImageWatermarkDetector) -> Payload | None:
    d = detector.detect_pixels(img.astype(np.float32), peak=255.0)
    return d.payload if d.found else None


def test_pipeline_outputs_come_back_marked(marker: ImageWatermarker, detector: ImageWatermarkDetector) -> None:
    seen: list[tuple[Payload, np.ndarray]] = []
    ids = iter([11, 12, 13])
    wrapped = WatermarkingGenerator(
        pipeline, marker, record_ids=lambda: next(ids), on_marked=lambda p, a: seen.append((p, a))
    )
    out = wrapped("a cat", num_images_per_prompt=2)
    assert isinstance(out, PipelineOutput) and len(out.images) == 2 and out.nsfw_content_detected == [False, False]
    assert [p.record_id for p in wrapped.payloads] == [11, 12] == [p.record_id for p, _ in seen]
    for img, rid in zip(out.images, (11, 12), strict=True):
        payload = _found(np.asarray(img), detector)
        assert payload is not None and payload.record_id == rid
    unmarked = pipeline("a cat", num_images_per_prompt=1).images[0]
    assert _found(np.asarray(unmarked), detector) is None


def test_arrays_batches_floats_and_lists(marker: ImageWatermarker, detector: ImageWatermarkDetector) -> None:
    batch = WatermarkingGenerator(lambda: np.stack([tiny_generator(1), tiny_generator(2)]), marker)()
    assert batch.shape == (2, 320, 320, 3) and batch.dtype == np.uint8
    assert all(_found(img, detector) for img in batch)
    floats = WatermarkingGenerator(lambda: tiny_generator(3).astype(np.float32) / 255, marker)()
    assert floats.dtype == np.float32 and floats.min() >= 0 and floats.max() <= 1
    assert _found(np.rint(floats * 255).astype(np.uint8), detector)
    listed = WatermarkingGenerator(lambda: [Image.fromarray(tiny_generator(4)).convert("RGBA")], marker)()
    assert isinstance(listed, list) and listed[0].mode == "RGBA"


def test_unsupported_outputs_are_refused(marker: ImageWatermarker) -> None:
    with pytest.raises(InvalidInput):
        WatermarkingGenerator(lambda: "not an image", marker)()
    with pytest.raises(InvalidInput):
        WatermarkingGenerator(lambda: np.zeros((300, 300, 3), np.int64), marker)()
    with pytest.raises(TypeError):
        WatermarkingGenerator("nope", marker)  # type: ignore[arg-type]
