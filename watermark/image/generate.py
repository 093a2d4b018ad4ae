"""Wrap any image generator so that every image it returns comes back watermarked.

A generator is any callable: a function, or a ``diffusers``-style pipeline whose output has an
``images`` attribute. Supported outputs, returned in the same type and layout:

- ``PIL.Image.Image`` (modes L, LA, RGB, RGBA);
- numpy arrays ``(h, w)``, ``(h, w, c)`` or a batch ``(n, h, w, c)``, uint8 or float in [0, 1];
- lists and tuples of those;
- objects with an ``images`` attribute holding any of the above (replaced in place).

Each image gets its own record id (from ``record_ids``, random by default); ``on_marked`` is
called once per image with its payload and marked RGB pixels, which is where the caller signs
a C2PA manifest or writes a provenance record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
from PIL import Image

from ..errors import InvalidInput
from .detect import ImageWatermarker
from .embed import PixelArray
from .payload import Payload, new_record_id

__all__ = ["MarkingWrapper", "WatermarkingGenerator"]

OnMarked = Callable[[Payload, npt.NDArray[np.uint8]], None]
MarkerT = TypeVar("MarkerT")
CallbackT = TypeVar("CallbackT")


class MarkingWrapper(ABC, Generic[MarkerT, CallbackT]):
    """What every generator wrapper shares: call the generator, mark what it returns (``_mark``),
    keep the payloads of the last call; one record id per marked item from ``record_ids``."""

    def __init__(
        self,
        generator: Callable[..., Any],
        marker: MarkerT,
        *,
        key_id: str | None = None,
        record_ids: Callable[[], int] = new_record_id,
        on_marked: CallbackT | None = None,
    ) -> None:
        if not callable(generator):
            raise TypeError(f"generator must be callable, got {type(generator).__name__}")
        self.generator = generator
        self.marker = marker
        self.key_id = key_id
        self.record_ids = record_ids
        self.on_marked = on_marked
        self.payloads: list[Payload] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the generator; return its output with everything it made watermarked."""
        self.payloads = []
        return self._mark(self.generator(*args, **kwargs))

    @abstractmethod
    def _mark(self, out: Any) -> Any:
        """``out`` with everything it holds watermarked, in its own type."""


class WatermarkingGenerator(MarkingWrapper[ImageWatermarker, OnMarked]):
    """Call ``generator`` and watermark every image it returns."""

    def _mark(self, out: Any) -> Any:
        if isinstance(out, Image.Image):
            return self._mark_pil(out)
        if isinstance(out, np.ndarray):
            if out.ndim == 4:
                return np.stack([self._mark_array(img) for img in out])
            return self._mark_array(out)
        if isinstance(out, list | tuple):
            return type(out)(self._mark(item) for item in out)
        if hasattr(out, "images"):
            out.images = self._mark(out.images)
            return out
        raise InvalidInput(f"cannot watermark a generator output of type {type(out).__name__}")

    def _mark_rgb(self, pixels: PixelArray, peak: float) -> PixelArray:
        marked, payload = self.marker.mark_pixels(pixels, peak=peak, record_id=self.record_ids(), key_id=self.key_id)
        self.payloads.append(payload)
        if self.on_marked is not None:
            self.on_marked(payload, np.rint(marked * (255.0 / peak)).astype(np.uint8))
        return marked

    def _mark_pil(self, image: Image.Image) -> Image.Image:
        if image.mode not in ("L", "LA", "RGB", "RGBA"):
            raise InvalidInput(f"cannot watermark PIL images of mode {image.mode}")
        arr = np.asarray(image)
        return Image.fromarray(self._mark_array(arr))

    def _mark_array(self, arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
            raise InvalidInput(f"expected an (h, w) or (h, w, c) image, got shape {arr.shape}")
        is_float = np.issubdtype(arr.dtype, np.floating)
        if not is_float and arr.dtype != np.uint8:
            raise InvalidInput(f"expected uint8 or float pixels, got {arr.dtype}")
        peak = 1.0 if is_float else 255.0
        colour = arr if arr.ndim == 2 else arr[..., : 3 if arr.shape[2] >= 3 else 1]
        squeeze = colour.ndim == 3 and colour.shape[2] == 1
        pixels = colour[..., 0] if squeeze else colour
        if is_float:
            pixels = pixels.astype(np.float32)
        marked = self._mark_rgb(pixels, peak)
        if squeeze:
            marked = marked[..., None]
        if arr.ndim == 3 and arr.shape[2] in (2, 4):  # alpha untouched
            marked = np.concatenate([marked, arr[..., -1:].astype(marked.dtype)], axis=2)
        return marked.astype(arr.dtype)  # uint8 input is marked as uint8
