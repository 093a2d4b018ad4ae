"""Wrap any audio generator so that every sound it returns comes back watermarked.

A generator is any callable. Supported outputs, returned in the same type and layout:

- a ``(samples, rate)`` or ``(rate, samples)`` pair (what most TTS and music models return, and
  what ``gradio`` audio takes), samples ``(n,)`` or ``(n, channels)``, float in [-1, 1] or int16;
- a mapping (returned as a dict) with ``audio`` (or ``waveform``) and ``sampling_rate`` (or ``sample_rate``): what the
  ``transformers`` text-to-audio pipeline returns; its ``(channels, n)`` layout is kept;
- a list of such outputs (a batch), each marked with its own record id.

Each sound gets one record id (from ``record_ids``, random by default). ``on_marked`` is called
once per sound with its payload, the marked ``(n,)`` / ``(n, channels)`` float samples and the
rate, which is where the caller encodes the sound (:func:`~watermark.audio.files.encode_audio`),
signs a C2PA manifest soft-bound to the payload and records it, so a stripped, re-encoded copy
leads back to its credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidInput
from ..image.generate import MarkingWrapper
from ..image.payload import Payload
from .detect import AudioWatermarker

__all__ = ["WatermarkingAudioGenerator"]

FloatArray = npt.NDArray[np.float64]
OnMarked = Callable[[Payload, FloatArray, int], None]
_SAMPLES = ("audio", "waveform")
_RATES = ("sampling_rate", "sample_rate")


def _rate(value: Any) -> int | None:
    return int(value) if isinstance(value, int | np.integer) and not isinstance(value, bool) else None


class WatermarkingAudioGenerator(MarkingWrapper[AudioWatermarker, OnMarked]):
    """Call ``generator`` and watermark every sound it returns."""

    def _mark(self, out: Any) -> Any:
        if isinstance(out, Mapping):
            return self._mark_mapping(out)
        if isinstance(out, tuple) and len(out) == 2:
            first, second = out
            if _rate(second) is not None:
                return (self._mark_samples(first, _rate(second) or 0), second)
            if _rate(first) is not None:
                return (first, self._mark_samples(second, _rate(first) or 0))
        if isinstance(out, list | tuple):
            return type(out)(self._mark(item) for item in out)
        raise InvalidInput(
            f"cannot watermark a generator output of type {type(out).__name__}: "
            "expected (samples, rate), a mapping with 'audio' and 'sampling_rate', or a list of them"
        )

    def _mark_mapping(self, out: Mapping[str, Any]) -> Any:
        name = next((k for k in _SAMPLES if k in out), None)
        rate = next((_rate(out[k]) for k in _RATES if k in out), None)
        if name is None or rate is None:
            raise InvalidInput("a generator's mapping needs 'audio' (or 'waveform') and an integer 'sampling_rate'")
        samples = out[name]
        channels_first = isinstance(samples, np.ndarray) and samples.ndim == 2 and samples.shape[0] < samples.shape[1]
        marked = self._mark_samples(samples.T if channels_first else samples, rate)
        return {**out, name: marked.T if channels_first else marked}

    def _mark_samples(self, samples: Any, rate: int) -> npt.NDArray[Any]:
        if hasattr(samples, "detach"):  # a torch tensor
            samples = samples.detach().cpu().numpy()
        if not isinstance(samples, np.ndarray) or samples.ndim not in (1, 2):
            raise InvalidInput(
                f"expected (n,) or (n, channels) samples, got {getattr(samples, 'shape', type(samples))}"
            )
        if np.issubdtype(samples.dtype, np.integer):
            if samples.dtype != np.int16:
                raise InvalidInput(f"expected float or int16 samples, got {samples.dtype}")
            floats = samples.astype(np.float64) / 32768.0
        elif np.issubdtype(samples.dtype, np.floating):
            floats = samples.astype(np.float64)
        else:
            raise InvalidInput(f"expected float or int16 samples, got {samples.dtype}")
        peak = float(np.max(np.abs(floats))) if floats.size else 0.0
        scale = peak if peak > 1.0 else 1.0  # a generator's float output may exceed [-1, 1] a little
        marked = self.marker.mark_samples(floats / scale, rate, key_id=self.key_id, record_id=self.record_ids())
        self.payloads.append(marked.payload)
        if self.on_marked is not None:
            self.on_marked(marked.payload, marked.samples, rate)
        out = marked.samples * scale
        if samples.dtype == np.int16:
            return np.clip(np.rint(out * 32768.0), -32768, 32767).astype(np.int16)
        return out.astype(samples.dtype)
