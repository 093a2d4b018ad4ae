"""Embed the tiled watermark into an image's luminance, masked by local texture.

The tile is laid out on a *canonical grid* whose cell is ``scale = max(1, short side / 512)``
pixels, so a 512 px image carries 4 x 4 tiles and a 4000 x 3000 photo 5.3 x 4 tiles of 750 px:
the mark sits at the same relative frequencies at every resolution and survives downscaling.
Textured regions carry the full band, multiplied by a texture mask (local standard deviation)
and capped on smooth content, where a full-band mark shows; flat regions carry a low-band copy
of the same tile, as strong as an SSIM floor allows (:func:`embed_pixels`). The RMS change of
luminance never exceeds the requested PSNR's. The same change is added to R, G and B, so hue and
saturation are untouched.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from .layout import TILE, TileLayout
from .quality import SsimReference

__all__ = ["MIN_SIDE", "REFERENCE_SIDE", "embed_pixels", "low_band_pattern", "luma", "working_scale"]

REFERENCE_SIDE = 512
MIN_SIDE = 256
_MASK_FLOOR = 0.3
_MASK_CEIL = 2.5
_CAP_FLAT = 0.5  # largest amplitude in a perfectly flat region, in 8-bit levels
_CAP_SLOPE = 0.3  # ... growing with the local standard deviation
_FLAT_SD = 2.0  # local standard deviation (8-bit levels) below which a region counts as flat
_FLAT_BLUR = 4.0  # softening of the flat map, in canonical cells
_LOW_TILT = -2.0  # spectral tilt of the flat regions' copy (energy in the band's lowest rings)
_LOW_AMP = 1.25  # its RMS in a flat region (8-bit levels) that the texture's budget assumes
_LOW_AMPS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)  # what it may be, image by image
_SSIM_FLOOR = 0.981  # mean SSIM (after rounding) the flat copy may not push an image below
_HEADROOM_BLUR = 12.0  # smoothness of the shift off the clipping bounds, in canonical cells
_DARK = (4.0, 32.0)  # luma (8-bit levels) below which the flat copy fades out, and where it is whole
_BAND = 512  # rows converted at a time
_ERODE = 3.0  # texture counts only where the whole neighbourhood (radius, cells) is textured

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


def working_scale(height: int, width: int) -> float:
    """Native pixels per canonical-grid cell for an image of this size."""
    return max(1.0, min(height, width) / REFERENCE_SIDE)


def luma(pixels: npt.NDArray[np.float32] | npt.NDArray[np.integer], scale: float | None = None) -> FloatArray:
    """BT.601 luminance of ``(h, w)`` grey or ``(h, w, 3)`` RGB pixels (float or integer), same
    scale as the input or times ``scale`` (then always a new array). Worked in bands of rows: no
    float copy of a whole integer or colour image."""
    if pixels.ndim == 2 and scale is None:
        return pixels.astype(np.float32, copy=False)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    out = np.empty(pixels.shape[:2], dtype=np.float32)
    for y in range(0, pixels.shape[0], _BAND):
        band = pixels[y : y + _BAND].astype(np.float32, copy=False)
        row = band if band.ndim == 2 else band[..., :3] @ weights
        out[y : y + _BAND] = row if scale is None else row * np.float32(scale)
    return out


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


def _masked_sd(y: FloatArray, scale: float) -> FloatArray:
    """Local standard deviation, eroded: a flat pixel beside an edge counts as flat.

    SSIM and the eye judge a 7 px neighbourhood; without the erosion the texture of an edge
    spills onto the flat side and the mark shows there as a halo.
    """
    k = 2 * round(_ERODE * scale) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    return np.asarray(cv2.erode(_local_sd(y, scale), kernel), dtype=np.float32)


def _flat_map(y: FloatArray, sd: FloatArray, scale: float, levels: float) -> FloatArray:
    """Where the flat copy goes, 0..1: flat (low local deviation) and not near black, softened.

    Near black any change lifts the window mean that SSIM (and the eye) judge relative to zero.
    """
    flat = np.clip(1.0 - sd / (levels * _FLAT_SD), 0.0, 1.0)
    darkest = cv2.erode(y, np.ones((7, 7), np.uint8))
    lit = np.clip((darkest - levels * _DARK[0]) / (levels * (_DARK[1] - _DARK[0])), 0.0, 1.0)
    sigma = _FLAT_BLUR * scale
    return np.asarray(cv2.GaussianBlur(flat, (0, 0), sigma) * cv2.GaussianBlur(lit, (0, 0), sigma), np.float32)


def low_band_pattern(layout: TileLayout, coded: BoolArray, height: int, width: int) -> FloatArray:
    """``(height, width)`` the tile's low-band copy (the flat regions' copy of
    :func:`embed_pixels`) on the canonical grid, at unit RMS: what compression keeps best."""
    pattern = _pattern(layout.tile(coded, tilt=_LOW_TILT), height, width, working_scale(height, width))
    return np.asarray(pattern / max(float(np.sqrt(np.mean(pattern**2))), 1e-12), np.float32)


def embed_pixels(pixels: FloatArray, layout: TileLayout, coded: BoolArray, *, psnr: float, peak: float) -> FloatArray:
    """Return ``pixels`` with the watermark for ``coded`` bits added.

    Two spectrally shaped copies of the same keyed tile are added. Textured regions carry the
    full band, gained by the texture mask; flat regions (drawn artwork, skies, UI) carry a copy
    whose energy sits in the band's lowest rings, which compression keeps and which changes a
    7 px SSIM window far less than the full band does. Both copies share every bin's phase and
    sign, so the detector reads their sum; its per-ring weights adapt to the mix. The texture's
    gain is set for a flat copy of ``_LOW_AMP``; the flat copy's amplitude is then the largest on
    ``_LOW_AMPS`` whose rounded result keeps the SSIM floor, and the whole change is scaled down
    to the PSNR's RMS if it exceeds it.

    Args:
        pixels: ``(h, w)`` grey or ``(h, w, 3)`` RGB, float32 in ``[0, peak]`` (no alpha).
        layout: the key's tile layout.
        coded: the coded bits, ``(CODED_BITS,)``.
        psnr: target peak signal-to-noise ratio of the change, in dB (before rounding and clipping);
            never exceeded, and exceeded in quality (higher PSNR) on smooth content.
        peak: the largest representable value (255 for 8-bit, 65535 for 16-bit).

    Returns:
        float32 pixels of the same shape, clipped to ``[0, peak]`` (not rounded).
    """
    height, width = pixels.shape[:2]
    scale = working_scale(height, width)
    levels = np.float32(peak / 255.0)
    target_rms = peak * 10.0 ** (-psnr / 20.0)
    y = luma(pixels)
    sd = _masked_sd(y, scale)
    flat = _flat_map(y, sd, scale, float(levels))
    low = _pattern(layout.tile(coded, tilt=_LOW_TILT), height, width, scale) * (flat * levels)
    budget = max(target_rms**2 - _LOW_AMP**2 * float(np.mean(low**2)), 0.25 * target_rms**2)
    pattern = _pattern(layout.tile(coded), height, width, scale)
    gain = _texture_mask(sd, peak)
    gain *= np.float32(math.sqrt(budget) / max(float(np.sqrt(np.mean((pattern * gain) ** 2))), 1e-12))
    # Smooth content shows a full-band mark that texture hides: cap its gain there.
    high = pattern * np.minimum(gain, levels * _CAP_FLAT + _CAP_SLOPE * sd)
    reference = SsimReference(pixels, peak=peak)
    # SSIM is judged after rounding to the integer grid; float pixels (peak 1) to 8 bits.
    step = np.float32(1.0 if peak >= 255 else peak / 255.0)
    headroom = _Headroom(pixels, flat, scale, peak=peak)

    def marked(amplitude: float, factor: float = 1.0) -> FloatArray:
        delta: FloatArray = high + np.float32(amplitude) * low
        delta -= headroom.shift(delta)
        rms = float(np.sqrt(np.mean(delta**2)))
        delta *= np.float32(min(factor, target_rms / max(rms, 1e-12)))
        return np.asarray(np.clip(pixels + (delta[..., None] if pixels.ndim == 3 else delta), 0.0, peak), np.float32)

    def ssim(amplitude: float, factor: float = 1.0) -> float:
        rounded = marked(amplitude, factor)
        if step != 1:
            rounded /= step
        np.rint(rounded, out=rounded)
        if step != 1:
            rounded *= step
        return reference.mean_ssim(rounded)

    # The flat copy takes the largest amplitude on the grid whose rounded result keeps the SSIM
    # floor (SSIM falls as the amplitude grows): flat-heavy artwork has SSIM to spare, photographs
    # with edges everywhere less. Where even the smallest misses it, the whole change is scaled
    # down (SSIM's loss grows about as the square of the change) until it holds. Only the
    # chosen candidate is kept (rebuilt at the end): a 50 MP image costs no extra copies.
    lo, hi, best = 0, len(_LOW_AMPS) - 1, -1
    while lo <= hi:
        mid = (lo + hi) // 2
        score = ssim(_LOW_AMPS[mid])
        if score >= _SSIM_FLOOR:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best >= 0:
        return marked(_LOW_AMPS[best])
    factor = 1.0
    for _ in range(3):
        factor *= math.sqrt((1.0 - _SSIM_FLOOR) / max(1.0 - score, 1e-9)) * 0.98
        score = ssim(_LOW_AMPS[0], factor)
        if score >= _SSIM_FLOOR:
            break
    return marked(_LOW_AMPS[0], factor)


class _Headroom:
    """A smooth shift that moves the change off the top clipping bound on flat white regions.

    Clipping keeps only one half of the mark on a white page; the shift, much smoother than the
    band, lowers white locally by about what would be clipped and is counted in the PSNR like
    the rest of the change. Black is left alone: SSIM's luminance term punishes any lift of
    black (a 1-level lift of a black window scores 0.87), and so does the eye. So are textured
    regions and saturated colours with a channel at zero. The smoothing runs at a quarter of the
    resolution (the shift is far smoother than that).
    """

    def __init__(self, pixels: FloatArray, flat: FloatArray, scale: float, *, peak: float) -> None:
        if pixels.ndim == 3:
            high = np.maximum(np.maximum(pixels[..., 0], pixels[..., 1]), pixels[..., 2])
            low = np.minimum(np.minimum(pixels[..., 0], pixels[..., 1]), pixels[..., 2])
        else:
            high = low = pixels
        self.eligible = bool(np.any(high >= peak - 4.0 * peak / 255.0))
        self.high = high
        self.weight = np.where(low > peak * 10.0 / 255.0, flat, 0.0).astype(np.float32)
        self.peak, self.sigma = peak, _HEADROOM_BLUR * scale / 4.0

    def shift(self, delta: FloatArray) -> FloatArray:
        """What to subtract from ``delta``."""
        if not self.eligible:
            return np.zeros_like(delta)
        top = np.maximum(self.high + delta - self.peak, 0.0) * self.weight
        h, w = top.shape
        small = cv2.resize(top, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), self.sigma)
        return np.asarray(2.0 * cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
