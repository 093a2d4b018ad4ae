"""The audio mark's signal processing: mono at the analysis rate, and the short-time spectrum
with a perfect-reconstruction window (square-root Hann, 50 % overlap), on arrays only."""

from __future__ import annotations

from math import gcd

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from .layout import HOP, NFFT, RATE

__all__ = ["WINDOW", "from_analysis_rate", "istft", "stft", "to_analysis_rate"]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

WINDOW = np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(NFFT) / NFFT))  # periodic: Σ w² = 1 at 50 %


def _ratio(rate: int) -> tuple[int, int]:
    g = gcd(RATE, rate)
    return RATE // g, rate // g


def to_analysis_rate(samples: FloatArray, rate: int) -> FloatArray:
    """``(n,)`` or ``(n, channels)`` samples as mono at ``RATE`` (the channels' mean)."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    up, down = _ratio(rate)
    return np.asarray(mono if up == down else resample_poly(mono, up, down), dtype=np.float64)


def from_analysis_rate(signal: FloatArray, rate: int, length: int) -> FloatArray:
    """A ``RATE`` signal at ``rate``, cut or padded to ``length`` samples."""
    up, down = _ratio(rate)
    out = signal if up == down else resample_poly(signal, down, up)
    out = out[:length]
    return np.pad(out, (0, length - len(out))) if len(out) < length else out


def stft(signal: FloatArray) -> ComplexArray:
    """``(frames, NFFT // 2 + 1)``: frame ``t`` starts at sample ``t * HOP - HOP`` (the signal
    is padded by one hop before and enough after that every sample is in two frames)."""
    padded = np.pad(signal, (HOP, HOP + (-len(signal)) % HOP + HOP))
    frames = np.lib.stride_tricks.sliding_window_view(padded, NFFT)[::HOP]
    return np.fft.rfft(frames * WINDOW, axis=1)


def istft(spectrum: ComplexArray, length: int) -> FloatArray:
    """The signal of a spectrum laid out as :func:`stft` lays it out, ``length`` samples long."""
    frames = np.fft.irfft(spectrum, n=NFFT, axis=1) * WINDOW
    out = np.zeros((len(frames) + 1) * HOP)
    for half in range(2):  # overlap-add: the first and second half of every frame
        part = frames[:, half * HOP : (half + 1) * HOP].reshape(-1)
        out[half * HOP : half * HOP + len(part)] += part
    return out[HOP : HOP + length]
