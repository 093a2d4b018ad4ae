"""Embed the tiled watermark into an image's luminance, masked by local texture.

The tile is laid out on a *canonical grid* whose cell is ``scale = max(1, short side / 512)``
pixels, so a 512 px image carries 4 x 4 tiles and a 4000 x 3000 photo 5.3 x 4 tiles of 750 px:
the mark sits at the same relative frequencies at every resolution and survives downscaling.
The pattern is multiplied by a texture mask (local standard deviation, floored so flat regions
still carry some energy) and scaled so the RMS change of luminance meets the requested PSNR;
on smooth content the gain is then capped (a mark shows there that texture hides elsewhere), so
the PSNR only rises. The same change is added to R, G and B, so hue and saturation are untouched.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from .layout import TILE, TileLayout

__all__ = ["MIN_SIDE", "REFERENCE_SIDE", "embed_pixels", "luma", "working_scale"]

REFERENCE_SIDE = 512
MIN_SIDE = 256
_MASK_FLOOR = 0.3
_MASK_CEIL = 2.5
_CAP_FLAT = 0.8  # largest amplitude in a perfectly flat region, in 8-bit levels
_CAP_SLOPE = 0.3  # ... growing with the local standard deviation

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


def working_scale(height: int, width: int) -> float:
    """Native pixels per canonical-grid cell for an image of this size."""
    return max(1.0, min(height, width) / REFERENCE_SIDE)


def luma(pixels: FloatArray) -> FloatArray:
    """BT.601 luminance of ``(h, w)`` grey or ``(h, w, 3)`` RGB pixels, same scale as the input."""
    if pixels.ndim == 2:
        return pixels.astype(np.float32, copy=False)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.asarray(pixels[..., :3] @ weights, dtype=np.float32)


def _pattern(tile: npt.NDArray[np.float64], height: int, width: int, scale: float) -> FloatArray:
    ch, cw = math.ceil(height / scale) + 1, math.ceil(width / scale) + 1
    canvas = np.tile(tile.astype(np.float32), (math.ceil(ch / TILE), math.ceil(cw / TILE)))[:ch, :cw]
    if scale == 1.0:
        return np.ascontiguousarray(canvas[:height, :width])
    out = cv2.resize(canvas, (round(cw * scale), round(ch * scale)), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(out[:height, :width])


def _local_sd(y: FloatArray, scale: float) -> FloatArray:
    sigma = 2.0 * scale
    mean = cv2.GaussianBlur(y, (0, 0), sigma)
    var = cv2.GaussianBlur(y * y, (0, 0), sigma) - mean * mean
    return np.asarray(np.sqrt(np.maximum(var, 0.0)), dtype=np.float32)


def _texture_mask(sd: FloatArray, peak: float) -> FloatArray:
    ref = float(np.median(sd)) + 1e-3 * peak
    return np.asarray(np.clip(_MASK_FLOOR + sd / ref, _MASK_FLOOR, _MASK_CEIL), dtype=np.float32)


def embed_pixels(pixels: FloatArray, layout: TileLayout, coded: BoolArray, *, psnr: float, peak: float) -> FloatArray:
    """Return ``pixels`` with the watermark for ``coded`` bits added.

    Args:
        pixels: ``(h, w)`` grey or ``(h, w, 3)`` RGB, float32 in ``[0, peak]`` (no alpha).
        layout: the key's tile layout.
        coded: the coded bits, ``(CODED_BITS,)``.
        psnr: target peak signal-to-noise ratio of the change, in dB (before rounding and clipping).
        peak: the largest representable value (255 for 8-bit, 65535 for 16-bit).

    Returns:
        float32 pixels of the same shape, clipped to ``[0, peak]`` (not rounded).
    """
    height, width = pixels.shape[:2]
    scale = working_scale(height, width)
    sd = _local_sd(luma(pixels), scale)
    pattern = _pattern(layout.tile(coded), height, width, scale)
    gain = _texture_mask(sd, peak)
    target_rms = peak * 10.0 ** (-psnr / 20.0)
    gain *= np.float32(target_rms / max(float(np.sqrt(np.mean((pattern * gain) ** 2))), 1e-12))
    # Smooth content shows a mark that texture hides: cap the gain there (PSNR only rises).
    levels = np.float32(peak / 255.0)
    gain = np.minimum(gain, levels * _CAP_FLAT + _CAP_SLOPE * sd)
    delta: FloatArray = pattern * gain
    if pixels.ndim == 3:
        delta = delta[..., None]
    return np.asarray(np.clip(pixels + delta, 0.0, peak), dtype=np.float32)
