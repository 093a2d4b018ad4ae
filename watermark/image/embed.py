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
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from .layout import TILE, TileLayout
from .quality import Clipped, PixelArray, SsimReference, plane

__all__ = ["MIN_SIDE", "REFERENCE_SIDE", "PixelArray", "embed_pixels", "low_band_pattern", "luma", "working_scale"]

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
_SAMPLE_BAND, _SAMPLE_EVERY = 21, 8  # the amplitude is searched on bands of 21 rows, one in 8
_ERODE = 3.0  # texture counts only where the whole neighbourhood (radius, cells) is textured

FloatArray = npt.NDArray[np.float32]
# the signed type that holds a change to 8- or 16-bit pixels and their room to either bound
_SIGNED: dict[np.dtype[np.generic], type[np.signedinteger]] = {
    np.dtype(np.uint8): np.int16,
    np.dtype(np.uint16): np.int32,
}
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


def _texture_mask(sd: FloatArray, median: float, peak: float) -> FloatArray:
    ref = median + 1e-3 * peak
    return np.asarray(np.clip(_MASK_FLOOR + sd / ref, _MASK_FLOOR, _MASK_CEIL), dtype=np.float32)


def _masks(y: FloatArray, scale: float, levels: float) -> tuple[FloatArray, FloatArray, float]:
    """The local standard deviation (eroded), the flat map (both at full resolution) and the
    deviation's median.

    Both are smooth on the canonical grid's scale, so they are computed at ``floor(scale)``
    times fewer pixels each way (the luminance and its square area-averaged first, so the
    deviation of fine texture is kept) and resized back.
    """
    h, w = y.shape
    factor = max(1, int(scale))
    small: FloatArray = y
    square: FloatArray = y * y
    if factor > 1:
        size = (-(-w // factor), -(-h // factor))
        small = np.asarray(cv2.resize(y, size, interpolation=cv2.INTER_AREA), np.float32)
        square = np.asarray(cv2.resize(square, size, interpolation=cv2.INTER_AREA), np.float32)
    cells = scale / factor  # canonical-grid cell, in reduced pixels
    sd = _masked_sd(small, square, cells)
    flat = _flat_map(small, sd, cells, levels, darkest=max(1, round(3 / factor)))
    median = float(np.median(sd))
    if factor == 1:
        return sd, flat, median
    up = (w, h)
    return (
        np.asarray(cv2.resize(sd, up, interpolation=cv2.INTER_LINEAR), np.float32),
        np.asarray(cv2.resize(flat, up, interpolation=cv2.INTER_LINEAR), np.float32),
        median,
    )


def _masked_sd(y: FloatArray, square: FloatArray, cells: float) -> FloatArray:
    """Local standard deviation, eroded: a flat pixel beside an edge counts as flat.

    SSIM and the eye judge a 7 px neighbourhood; without the erosion the texture of an edge
    spills onto the flat side and the mark shows there as a halo.
    """
    sigma = 2.0 * cells
    mean = cv2.GaussianBlur(y, (0, 0), sigma)
    var = np.asarray(cv2.GaussianBlur(square, (0, 0), sigma), np.float32)
    var -= mean * mean
    np.maximum(var, 0.0, out=var)
    k = 2 * round(_ERODE * cells) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    return np.asarray(cv2.erode(np.sqrt(var), kernel), dtype=np.float32)


def _flat_map(y: FloatArray, sd: FloatArray, cells: float, levels: float, *, darkest: int) -> FloatArray:
    """Where the flat copy goes, 0..1: flat (low local deviation) and not near black (the darkest
    pixel within ``darkest`` pixels), softened.

    Near black any change lifts the window mean that SSIM (and the eye) judge relative to zero.
    """
    flat = np.clip(1.0 - sd / (levels * _FLAT_SD), 0.0, 1.0)
    dark = cv2.erode(y, np.ones((2 * darkest + 1, 2 * darkest + 1), np.uint8))
    lit = np.clip((dark - levels * _DARK[0]) / (levels * (_DARK[1] - _DARK[0])), 0.0, 1.0)
    sigma = _FLAT_BLUR * cells
    return np.asarray(cv2.GaussianBlur(flat, (0, 0), sigma) * cv2.GaussianBlur(lit, (0, 0), sigma), np.float32)


def low_band_pattern(layout: TileLayout, coded: BoolArray, height: int, width: int) -> FloatArray:
    """``(height, width)`` the tile's low-band copy (the flat regions' copy of
    :func:`embed_pixels`) on the canonical grid, at unit RMS: what compression keeps best."""
    pattern = _pattern(layout.tile(coded, tilt=_LOW_TILT), height, width, working_scale(height, width))
    return np.asarray(pattern / max(float(np.sqrt(np.mean(pattern**2))), 1e-12), np.float32)


def embed_pixels(pixels: PixelArray, layout: TileLayout, coded: BoolArray, *, psnr: float, peak: float) -> PixelArray:
    """Return ``pixels`` with the watermark for ``coded`` bits added.

    Two spectrally shaped copies of the same keyed tile are added. Textured regions carry the
    full band, gained by the texture mask; flat regions (drawn artwork, skies, UI) carry a copy
    whose energy sits in the band's lowest rings, which compression keeps and which changes a
    7 px SSIM window far less than the full band does. Both copies share every bin's phase and
    sign, so the detector reads their sum; its per-ring weights adapt to the mix. The texture's
    gain is set for a flat copy of ``_LOW_AMP``; the flat copy's amplitude is then the largest on
    ``_LOW_AMPS`` whose rounded result keeps the SSIM floor, and the whole change is scaled down
    to the PSNR's RMS if it exceeds it. Every channel gets the same rounded change, each clipped
    to ``[0, peak]`` on its own.

    Args:
        pixels: ``(h, w)`` grey or ``(h, w, 3)`` RGB in ``[0, peak]`` (no alpha): 8- or 16-bit
            integers, or float32.
        layout: the key's tile layout.
        coded: the coded bits, ``(CODED_BITS,)``.
        psnr: target peak signal-to-noise ratio of the change, in dB (before rounding);
            never exceeded, and exceeded in quality (higher PSNR) on smooth content.
        peak: the largest representable value (255 for 8-bit, 65535 for 16-bit).

    Returns:
        Pixels of the same shape in ``[0, peak]``. Integer input, and float input whose values
        are integers with ``peak >= 255``, come back on the integer grid (the image whose SSIM
        was measured; integer input in its own dtype); other float input as float32, not rounded.
    """
    height, width = pixels.shape[:2]
    scale = working_scale(height, width)
    levels = np.float32(peak / 255.0)
    target_rms = peak * 10.0 ** (-psnr / 20.0)
    y = luma(pixels)
    sd, flat, median = _masks(y, scale, float(levels))
    del y
    room = _Room(pixels, flat, scale, peak=peak)
    low = _pattern(layout.tile(coded, tilt=_LOW_TILT), height, width, scale)
    low *= flat
    del flat
    if levels != 1:
        low *= levels
    budget = max(target_rms**2 - _LOW_AMP**2 * _mean_square(low), 0.25 * target_rms**2)
    high = _pattern(layout.tile(coded), height, width, scale)
    gain = _texture_mask(sd, median, peak)
    gain *= np.float32(math.sqrt(budget) / max(math.sqrt(_mean_square(high * gain)), 1e-12))
    # Smooth content shows a full-band mark that texture hides: cap its gain there.
    sd *= np.float32(_CAP_SLOPE)
    sd += levels * np.float32(_CAP_FLAT)
    np.minimum(gain, sd, out=gain)
    high *= gain
    del gain, sd
    grid = _Grid(pixels, peak, room)
    candidates = _Candidates(high, low, room, grid, peak=peak, target_rms=target_rms)
    del high, low, room
    chosen = candidates.choose()
    del candidates
    return grid.apply(chosen)


class _Candidates:
    """The flat copy's amplitude: the largest on ``_LOW_AMPS`` whose rounded result keeps the SSIM
    floor (SSIM falls as the amplitude grows): flat-heavy artwork has SSIM to spare, photographs
    with edges everywhere less.

    The grid is searched on a sample of rows (:meth:`sampled`), then the choice is measured on the
    whole image and stepped down until it holds, so the floor is exact on the result. Where even
    the smallest amplitude misses it, the whole change is scaled down (SSIM's loss grows about
    as the square of the change) until it holds. Only the chosen candidate's change is kept: a
    50 MP image costs no extra copies.
    """

    def __init__(
        self, high: FloatArray, low: FloatArray, room: _Room, grid: _Grid, *, peak: float, target_rms: float
    ) -> None:
        self.high, self.low, self.room, self.grid, self.pixels = high, low, room, grid, grid.pixels
        self.peak, self.target_rms = peak, target_rms

    def change(self, amplitude: float, factor: float = 1.0) -> FloatArray:
        """The change for one amplitude: shifted off white, capped at the PSNR's RMS."""
        delta: FloatArray = self.high + np.float32(amplitude) * self.low
        delta -= self.room.shift(delta)
        delta *= np.float32(min(factor, self.target_rms / max(math.sqrt(_mean_square(delta)), 1e-12)))
        return delta

    def choose(self) -> FloatArray:
        """The chosen change (rounded in place for integer pixels)."""
        reference, grid = SsimReference(self.pixels, peak=self.peak), self.grid

        def measured(index: int, factor: float = 1.0) -> tuple[float, FloatArray]:
            delta = self.change(_LOW_AMPS[index], factor)
            return reference.mean_ssim_change(*grid.rounded_change(delta)), delta

        sampled = self.sampled()
        if sampled is None:  # small images: bisection on the whole image
            lo, hi, best = 0, len(_LOW_AMPS) - 1, None
            while lo <= hi:
                mid = (lo + hi) // 2
                score, delta = measured(mid)
                if score >= _SSIM_FLOOR:
                    lo, best = mid + 1, (score, delta)
                else:
                    hi = mid - 1
            score, chosen = best or (score, delta)
        else:
            # The sample's choice (bisection), measured; then the sample's scores corrected by
            # what the measurement showed: one more measurement up if larger amplitudes look able
            # to keep the floor, or down until one does. Sample scores are computed when needed.
            score_of, scores = sampled
            lo, hi, index = 0, len(_LOW_AMPS) - 1, 0
            while lo <= hi:
                mid = (lo + hi) // 2
                if score_of(mid) >= _SSIM_FLOOR:
                    index, lo = mid, mid + 1
                else:
                    hi = mid - 1
            for i in range(index, len(_LOW_AMPS)):  # what a climb may ask; then the sample goes
                score_of(i)
            del score_of, sampled
            score, chosen = measured(index)
            offset = score - scores[index]
            if score >= _SSIM_FLOOR:
                up = index
                while up + 1 < len(_LOW_AMPS) and scores[up + 1] + offset >= _SSIM_FLOOR:
                    up += 1
                if up > index:
                    higher = measured(up)
                    if higher[0] >= _SSIM_FLOOR:
                        score, chosen = higher
            else:  # down, skipping what the corrected sample says fails (unsampled: measured)
                for i in reversed(range(index)):
                    if i == 0 or scores.get(i, _SSIM_FLOOR - offset) + offset >= _SSIM_FLOOR:
                        score, chosen = measured(i)
                        if score >= _SSIM_FLOOR:
                            break
        factor = 1.0
        for _ in range(3):
            if score >= _SSIM_FLOOR:
                break
            factor *= math.sqrt((1.0 - _SSIM_FLOOR) / max(1.0 - score, 1e-9)) * 0.98
            score, chosen = measured(0, factor)
        return chosen

    def sampled(self) -> tuple[Callable[[int], float], dict[int, float]] | None:
        """An amplitude's SSIM on a sample of the image's rows (bands of ``_SAMPLE_BAND`` rows,
        one in ``_SAMPLE_EVERY``), by its index on ``_LOW_AMPS``, and the scores computed so far
        (each computed once); ``None`` where the image is too small to sample.

        The sample takes the shift off white that the middle amplitude gets and the whole image's
        RMS of ``high + a * low``: a prediction, which :meth:`choose` then measures exactly.
        """
        high, low = self.high, self.low
        period = _SAMPLE_BAND * _SAMPLE_EVERY
        starts = np.arange((period - _SAMPLE_BAND) // 2, high.shape[0] - _SAMPLE_BAND + 1, period)
        if len(starts) < 4:
            return None
        rows = (starts[:, None] + np.arange(_SAMPLE_BAND)).ravel()
        sample = self.pixels[rows]
        reference = SsimReference(sample, peak=self.peak, band=_SAMPLE_BAND)
        grid = _Grid(sample, self.peak, self.room, rows)
        high_s, low_s = high[rows], low[rows]
        shift_s: FloatArray | float = 0.0
        if self.room.weight is not None:
            shift = self.room.shift(high + np.float32(_LOW_AMP) * low)
            shift_s = shift[rows] if isinstance(shift, np.ndarray) else shift
            del shift
        hh, ll = _mean_square(high), _mean_square(low)
        hl = float(np.vdot(high.ravel(), low.ravel())) / high.size

        scores: dict[int, float] = {}

        def score(index: int) -> float:
            if index in scores:
                return scores[index]
            amplitude = _LOW_AMPS[index]
            delta = high_s + np.float32(amplitude) * low_s
            delta -= shift_s
            rms = math.sqrt(max(hh + 2 * amplitude * hl + amplitude**2 * ll, 1e-24))
            delta *= np.float32(min(1.0, self.target_rms / rms))
            scores[index] = reference.mean_ssim_change(*grid.rounded_change(delta))
            return scores[index]

        return score, scores


def _mean_square(a: FloatArray) -> float:
    return float(np.vdot(a.ravel(), a.ravel())) / max(a.size, 1)


class _Grid:
    """How a change lands on the output's grid, and the marked pixels themselves.

    Integer pixels (and integer-valued floats at ``peak >= 255``) take the rounded change, the
    same in every channel, each channel clipped to ``[0, peak]`` on its own (a saturated colour
    keeps the half of the mark its other channels can take): ``clip(x + rint(delta))`` is the
    output, exactly what SSIM measures, with the few clipped pixels as corrections. Other float
    pixels are judged after rounding to the 8-bit grid (``peak`` 1) or the integer grid, channel
    by channel, and returned unrounded.
    """

    def __init__(self, pixels: PixelArray, peak: float, room: _Room, rows: npt.NDArray[np.intp] | None = None) -> None:
        self.pixels, self.peak = pixels, peak
        self.integer = pixels.dtype.kind in "ui" or (peak >= 255 and _integral(pixels))
        self.step = np.float32(1.0 if peak >= 255 else peak / 255.0)
        self.up = room.up if rows is None else room.up[rows]
        self.down = room.down if rows is None else room.down[rows]

    def rounded_change(self, delta: FloatArray) -> tuple[FloatArray, Clipped | None]:
        """What the output's grid makes of ``delta``: the change (``(h, w)`` if the same for every
        channel; for integer pixels ``delta`` itself, rounded) and the pixels where a channel clips."""
        if self.integer:  # rounded in place: the output is this rounded change
            change = np.rint(delta, out=delta)
            outside = change > self.up
            outside |= change < self.down
            where = np.flatnonzero(outside)
            if len(where) == 0:
                return change, None
            rows, cols = (a.astype(np.int32) for a in np.divmod(where, change.shape[1]))
            x = self.pixels[rows, cols].astype(np.float32).reshape(len(where), -1)
            moved = change.ravel()[where][:, None]
            excess = np.clip(x + moved, 0.0, self.peak) - x - moved
            return change, Clipped(rows, cols, x, moved[:, 0], excess)
        marked = self.pixels + (delta[..., None] if self.pixels.ndim == 3 else delta)
        marked /= self.step
        np.rint(marked, out=marked)
        marked *= self.step
        np.clip(marked, 0.0, self.peak, out=marked)
        marked -= self.pixels
        return marked, None

    def apply(self, delta: FloatArray) -> PixelArray:
        """The marked pixels: integer input in its dtype, integral floats rounded, others as float32."""
        if self.integer:
            np.rint(delta, out=delta)
        wide = _SIGNED.get(self.pixels.dtype)  # 8/16-bit: integer sums, half the traffic of float32
        change = delta if wide is None else delta.astype(wide)
        top = self.peak if wide is None else int(self.peak)
        marked = np.empty(self.pixels.shape, dtype=self.pixels.dtype if self.pixels.dtype.kind in "ui" else np.float32)
        for c in range(1 if self.pixels.ndim == 2 else self.pixels.shape[2]):
            out = marked if self.pixels.ndim == 2 else marked[..., c]
            out[...] = np.clip(plane(self.pixels, c) + change, 0, top)
        return marked


def _integral(pixels: PixelArray) -> bool:
    """Whether float pixels are all whole numbers (checked in bands: no whole-image copy)."""
    for y in range(0, pixels.shape[0], _BAND):
        band = pixels[y : y + _BAND]
        if not np.array_equal(band, np.rint(band)):
            return False
    return True


class _Room:
    """How far each pixel may move: the limits that keep every channel in ``[0, peak]``, and a
    smooth shift that moves the change off the top bound on flat white regions.

    Clipping keeps only one half of the mark on a white page; the shift, much smoother than the
    band, lowers white locally by about what would be clipped and is counted in the PSNR like
    the rest of the change. Black is left alone: SSIM's luminance term punishes any lift of
    black (a 1-level lift of a black window scores 0.87), and so does the eye. So are textured
    regions and saturated colours with a channel at zero. The smoothing runs at a quarter of the
    resolution (the shift is far smoother than that). The limits are held as small integers for
    integer pixels (``peak`` minus the brightest channel, minus the darkest).
    """

    def __init__(self, pixels: PixelArray, flat: FloatArray, scale: float, *, peak: float) -> None:
        if pixels.ndim == 3:
            high = np.maximum(np.maximum(pixels[..., 0], pixels[..., 1]), pixels[..., 2])
            low = np.minimum(np.minimum(pixels[..., 0], pixels[..., 1]), pixels[..., 2])
        else:
            high = low = pixels
        signed = _SIGNED.get(pixels.dtype, np.float32)
        self.up = (np.asarray(peak, signed) - high.astype(signed)).astype(signed)
        self.down = np.negative(low.astype(signed))
        near_white = bool(np.any(self.up <= 4.0 * peak / 255.0))
        self.weight = np.where(low > peak * 10.0 / 255.0, flat, np.float32(0.0)) if near_white else None
        self.sigma = _HEADROOM_BLUR * scale / 4.0

    def shift(self, delta: FloatArray) -> FloatArray | float:
        """What to subtract from ``delta`` (0 where no pixel is near white)."""
        if self.weight is None:
            return 0.0
        top = delta - self.up
        np.maximum(top, 0.0, out=top)
        top *= self.weight
        h, w = top.shape
        small = cv2.resize(top, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
        del top
        small = cv2.GaussianBlur(small, (0, 0), self.sigma)
        return np.asarray(2.0 * cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
