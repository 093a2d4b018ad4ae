"""Watermark and check image *files*: decode, mark or detect, encode in the input's format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .codec import DEFAULT_MAX_PIXELS, read_image, write_image
from .detect import ImageDetection, ImageWatermarkDetector, ImageWatermarker
from .payload import Payload, new_record_id

__all__ = ["MarkedImage", "detect_file", "watermark_file"]

_ROWS = 256


@dataclass(frozen=True)
class MarkedImage:
    """A watermarked file and what it carries."""

    data: bytes
    mime_type: str
    payload: Payload
    key_id: str
    psnr: float
    width: int
    height: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (without the bytes)."""
        return {
            "mime_type": self.mime_type,
            "key_id": self.key_id,
            "payload": self.payload.to_dict(),
            "psnr_db": round(self.psnr, 2),
            "width": self.width,
            "height": self.height,
        }


def watermark_file(
    data: bytes,
    marker: ImageWatermarker,
    *,
    record_id: int | None = None,
    key_id: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> MarkedImage:
    """Watermark an image file; the output has the input's format, mode, alpha and metadata.

    Raises:
        InvalidInput, UnsupportedMedia, PayloadTooLarge: see :func:`watermark.image.codec.read_image`;
            also InvalidInput for images under 256 px on the short side.
        UnknownKey: ``key_id`` is not in the marker's key ring.
    """
    raster = read_image(data, max_pixels=max_pixels, native=True)
    rid = new_record_id() if record_id is None else record_id
    marked, payload = marker.mark_pixels(raster.pixels, peak=raster.peak, record_id=rid, key_id=key_id)
    out = write_image(raster, marked)
    psnr = _psnr(raster.pixels, marked, raster.peak)
    key = marker.keyring.get(key_id) if key_id else marker.keyring.active
    h, w = raster.pixels.shape[:2]
    return MarkedImage(out, raster.mime_type, payload, key.key_id, psnr, w, h)


def _psnr(original: npt.NDArray[Any], marked: npt.NDArray[Any], peak: float) -> float:
    """PSNR of the written pixels (both on the integer grid), in bands of rows: no float copies."""
    squares = 0.0
    for y in range(0, original.shape[0], _ROWS):
        change = marked[y : y + _ROWS].astype(np.float32) - original[y : y + _ROWS]
        squares += float(np.vdot(change.ravel(), change.ravel()))
    mse = squares / original.size
    return float("inf") if mse == 0 else 10.0 * float(np.log10(peak**2 / mse))


def detect_file(
    data: bytes, detector: ImageWatermarkDetector, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> ImageDetection:
    """Look for an Assay watermark in an image file (any size; below 128 px it reports ``too-small``)."""
    raster = read_image(data, max_pixels=max_pixels, native=True)
    return detector.detect_pixels(raster.pixels, peak=raster.peak)
