"""Find the watermark's geometry without the original: scale, rotation, shift; fold the tiles.

1. The luminance is brought to a *detection frame* (short side 512 px, long side cropped to
   1024) and whitened (high-pass, divided by the local RMS) so the host image's own spectrum
   no longer dominates.
2. A repeated tile puts all of its energy on a lattice of frequencies. Scaling the image by
   ``s`` and rotating it by ``theta`` moves the lattice point ``k`` to ``R(theta) k / s``; a grid
   search over ``(s, theta)`` scores the mean whitened magnitude at the predicted points and
   the best few peaks are refined on a fine grid. Magnitudes ignore translation, so crops with
   any offset are searched the same way. The band's lattice points form a ring that is
   symmetric under 90 degree turns: the search covers [-45, 45) degrees and the pilot decides
   the quarter turn later.
3. For a candidate geometry the frame is warped back to the canonical grid (tile = 128 px,
   upright) and all tiles are summed modulo 128 (*folding*), which averages the host away and
   keeps the mark; the key's pilot then fixes the cyclic shift and the quarter turn
   (:func:`align`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from scipy.ndimage import maximum_filter, uniform_filter

from .layout import BAND, TILE, TileLayout

__all__ = [
    "Alignment",
    "Geometry",
    "align",
    "autocorrelation",
    "detection_frame",
    "fold",
    "polish",
    "search_geometry",
    "untouched_geometry",
    "upright_scales",
    "whiten",
]

DETECT_SIDE = 512
MAX_LONG_SIDE = 1024
SCALE_RANGE = (0.6, 2.6)
ANGLE_RANGE = (-45.0, 45.0)
_MAX_LAG = 512
# A tight high-pass and a small normalising window: measured on the textured images where the
# mark is weakest (grass, gravel), this beat (4, 8) px by 2 % TPR over 10 attacks.
_HIGH_PASS_SIGMA = 1.5
_RMS_SIGMA = 2.0
_CLIP = 3.0

FloatArray = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


@dataclass(frozen=True)
class Geometry:
    """A candidate geometry: tile period ``128 * scale`` frame pixels, turned by ``angle`` degrees."""

    scale: float
    angle: float
    score: float = 0.0


@dataclass(frozen=True)
class Alignment:
    """The folded tile's spectrum brought into register with a key's pilot."""

    spectrum: ComplexArray
    pilot_z: float
    quarter_turns: int
    shift: tuple[float, float]


def untouched_geometry(height: int, width: int) -> Geometry:
    """Where the tile sits in the frame of an image that was not resized, cropped or rotated."""
    return Geometry(scale=max(1.0, DETECT_SIDE / min(height, width)), angle=0.0)


def detection_frame(y: FloatArray) -> tuple[FloatArray, float]:
    """Resize luminance so the short side is ``DETECT_SIDE``; crop the long side to ``MAX_LONG_SIDE``.

    Returns:
        The frame and the resize factor (frame pixels per input pixel).
    """
    h, w = y.shape
    factor = DETECT_SIDE / min(h, w)
    nh, nw = max(DETECT_SIDE, round(h * factor)), max(DETECT_SIDE, round(w * factor))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    frame = cv2.resize(y, (nw, nh), interpolation=interp)
    top, left = max(0, (nh - MAX_LONG_SIDE) // 2), max(0, (nw - MAX_LONG_SIDE) // 2)
    return np.ascontiguousarray(frame[top : top + MAX_LONG_SIDE, left : left + MAX_LONG_SIDE]), factor


def whiten(frame: FloatArray) -> FloatArray:
    """High-pass the frame and divide by the local RMS (host texture flattened, mark kept)."""
    hp = frame - cv2.GaussianBlur(frame, (0, 0), _HIGH_PASS_SIGMA)
    rms = np.sqrt(cv2.GaussianBlur(hp * hp, (0, 0), _RMS_SIGMA))
    return np.asarray(np.clip(hp / (rms + 0.5), -_CLIP, _CLIP), dtype=np.float32)


def autocorrelation(residual: FloatArray) -> F64:
    """Spectrally whitened autocorrelation of the residual, zero lag at ``[0, 0]`` (lags wrap).

    Dividing the power spectrum by its local mean before transforming back (a self phase
    correlation) turns the repeated tile into sharp peaks at the lattice vectors, whatever the
    host image's spectrum; frequencies outside the band any geometry in range could put the mark
    at are cut.
    """
    h, w = residual.shape
    size = (cv2.getOptimalDFTSize(h + _MAX_LAG), cv2.getOptimalDFTSize(w + _MAX_LAG))
    power = np.abs(np.fft.rfft2(residual, s=size)) ** 2
    power /= uniform_filter(power, size=9, mode="wrap") + 1e-12
    fy = np.fft.fftfreq(size[0])[:, None]
    fx = np.fft.rfftfreq(size[1])[None, :]
    radius = np.hypot(fy, fx) * TILE
    lo, hi = BAND[0] / SCALE_RANGE[1], BAND[1] / SCALE_RANGE[0]
    power[(radius < 0.9 * lo) | (radius > 1.1 * hi)] = 0.0
    acf = np.fft.irfft2(power, s=size)
    return np.asarray(acf / (acf[0, 0] + 1e-12), dtype=np.float64)


def _sample(acf: F64, x: F64, y: F64) -> F64:
    """Bilinear samples of the wrapped autocorrelation at lags ``(x, y)``."""
    h, w = acf.shape
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    xi, yi = x0.astype(np.int64) % w, y0.astype(np.int64) % h
    xj, yj = (xi + 1) % w, (yi + 1) % h
    return np.asarray(
        acf[yi, xi] * (1 - fx) * (1 - fy)
        + acf[yi, xj] * fx * (1 - fy)
        + acf[yj, xi] * (1 - fx) * fy
        + acf[yj, xj] * fx * fy,
        dtype=np.float64,
    )


# Lattice points (in tile units) that score a geometry: the 8 neighbours and the next ring.
_LATTICE = np.array([(a, b) for a in range(-2, 3) for b in range(-2, 3) if (a, b) > (0, 0) and abs(a) + abs(b) <= 3])


def _lattice_score(acf: F64, scale: F64, angle: F64) -> F64:
    """Mean autocorrelation at the lattice vectors of each ``(scale, angle in radians)`` pair."""
    c, s = np.cos(angle)[..., None], np.sin(angle)[..., None]
    u, v = _LATTICE[:, 0] * TILE, _LATTICE[:, 1] * TILE
    x = scale[..., None] * (c * u - s * v)
    y = scale[..., None] * (s * u + c * v)
    return np.asarray(_sample(acf, x, y).mean(axis=-1), dtype=np.float64)


def _refine(acf: F64, g: Geometry, span_s: float, span_a: float) -> Geometry:
    scales = g.scale * np.exp(np.linspace(-span_s, span_s, 21))
    angles = np.radians(g.angle) + np.radians(np.linspace(-span_a, span_a, 21))
    ss, aa = np.meshgrid(scales, angles, indexing="ij")
    scores = _lattice_score(acf, ss, aa)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return Geometry(float(ss[i, j]), float(np.degrees(aa[i, j])), float(scores[i, j]))


def search_geometry(acf: F64, *, candidates: int = 3) -> list[Geometry]:
    """The ``candidates`` best lattice geometries found from autocorrelation peaks, best first.

    Each local maximum of the autocorrelation whose length is a tile period in range proposes a
    lattice vector ``128 * scale * (cos a, sin a)``; proposals are scored on the whole lattice,
    refined on a fine grid, and deduplicated.
    """
    h, w = acf.shape
    ly = np.fft.fftfreq(h) * h
    lx = np.fft.fftfreq(w) * w
    length = np.hypot(ly[:, None], lx[None, :])
    inside = (length >= 0.95 * TILE * SCALE_RANGE[0]) & (length <= 1.05 * TILE * SCALE_RANGE[1])
    peaks = (acf >= maximum_filter(acf, size=5, mode="wrap")) & inside
    iy, ix = np.nonzero(peaks)
    order = np.argsort(-acf[iy, ix])[: 8 * candidates]
    proposals = []
    for y, x in zip(ly[iy[order]], lx[ix[order]], strict=True):
        angle = (math.degrees(math.atan2(y, x)) + 45.0) % 90.0 - 45.0
        proposals.append(Geometry(math.hypot(x, y) / TILE, angle))
    refined: list[Geometry] = []
    for g in proposals:
        g = _refine(acf, g, span_s=0.02, span_a=1.0)
        g = _refine(acf, g, span_s=0.003, span_a=0.15)
        if all(abs(math.log(g.scale / r.scale)) > 0.01 or abs(g.angle - r.angle) > 0.5 for r in refined):
            refined.append(g)
    return sorted(refined, key=lambda g: -g.score)[:candidates]


def upright_scales(acf: F64, *, candidates: int = 4) -> list[Geometry]:
    """The best scales for an unrotated lattice (crops and resizes without rotation, the common case).

    Constraining the angle to 0 lets the true scale outrank lattice-like structure of the host
    image that the free search proposes at other angles.
    """
    scales = np.exp(np.arange(math.log(SCALE_RANGE[0]), math.log(SCALE_RANGE[1]), 0.002))
    scores = _lattice_score(acf, scales, np.zeros_like(scales))
    peaks = np.nonzero(scores >= maximum_filter(scores, size=9, mode="nearest"))[0]
    peaks = peaks[np.argsort(-scores[peaks])][:candidates]
    return [Geometry(float(scales[i]), 0.0, float(scores[i])) for i in peaks]


def fold(residual: FloatArray, geometry: Geometry) -> F64:
    """Warp the residual to the canonical grid under ``geometry`` and sum it modulo the tile."""
    h, w = residual.shape
    s, a = geometry.scale, math.radians(geometry.angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    # Canonical size: the frame's bounding box in canonical units, padded to whole tiles.
    extent = np.abs(rot.T) @ np.array([w, h], dtype=np.float64) / s
    cw, ch = (math.ceil(float(e) / TILE) * TILE for e in extent)
    src_centre = np.array([(w - 1) / 2, (h - 1) / 2])
    dst_centre = np.array([(cw - 1) / 2, (ch - 1) / 2])
    linear = s * rot
    matrix = np.hstack([linear, (src_centre - linear @ dst_centre)[:, None]]).astype(np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(residual, matrix, (cw, ch), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ones = np.ones_like(residual)
    weight = cv2.warpAffine(ones, matrix, (cw, ch), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    total = warped.reshape(ch // TILE, TILE, cw // TILE, TILE).sum(axis=(0, 2), dtype=np.float64)
    count = weight.reshape(ch // TILE, TILE, cw // TILE, TILE).sum(axis=(0, 2), dtype=np.float64)
    folded = np.divide(total, count, out=np.zeros_like(total), where=count > 0.5)
    return np.asarray(folded - folded.mean(), dtype=np.float64)


def _subpixel(c: F64, iy: int, ix: int) -> tuple[float, float]:
    def offset(m: float, z: float, p: float) -> float:
        den = m - 2 * z + p
        return 0.0 if den >= 0 else float(np.clip(0.5 * (m - p) / den, -0.5, 0.5))

    n = TILE
    dy = offset(c[(iy - 1) % n, ix], c[iy, ix], c[(iy + 1) % n, ix])
    dx = offset(c[iy, (ix - 1) % n], c[iy, ix], c[iy, (ix + 1) % n])
    return iy + dy, ix + dx


def align(folded: F64, layout: TileLayout) -> Alignment:
    """Fix the cyclic shift and quarter turn of ``folded`` against the key's pilot."""
    pilot = np.conj(layout.pilot_spectrum())
    best: Alignment | None = None
    k = np.fft.fftfreq(TILE) * TILE
    for turns in range(4):
        spec = np.fft.fft2(np.rot90(folded, turns))
        corr = np.fft.ifft2(spec * pilot).real
        iy, ix = np.unravel_index(int(np.argmax(corr)), corr.shape)
        z = float((corr[iy, ix] - corr.mean()) / (corr.std() + 1e-12))
        if best is None or z > best.pilot_z:
            dy, dx = _subpixel(corr, int(iy), int(ix))
            ramp = np.exp(2j * np.pi * (k[:, None] * dy + k[None, :] * dx) / TILE)
            best = Alignment(spectrum=spec * ramp, pilot_z=z, quarter_turns=turns, shift=(dy, dx))
    assert best is not None
    return best


def polish(
    residual: FloatArray, geometry: Geometry, layout: TileLayout, *, rounds: int = 2
) -> tuple[Geometry, Alignment]:
    """Refine a geometry by coordinate ascent on the key's pilot z (sharper than the lattice score).

    A scale error of 0.3 % drifts the outer tiles of a 512 px frame by more than a pixel, which
    costs the highest rings most of their coherence; the autocorrelation peak is not that precise
    on textured images, the pilot correlation is.
    """
    best_g, best = geometry, align(fold(residual, geometry), layout)
    step_s, step_a = 0.004, 0.2
    for _ in range(rounds):
        for axis in ("scale", "angle"):
            for direction in (-1.0, 1.0):
                while True:
                    if axis == "scale":
                        g = Geometry(best_g.scale * math.exp(direction * step_s), best_g.angle)
                    else:
                        g = Geometry(best_g.scale, best_g.angle + direction * step_a)
                    aligned = align(fold(residual, g), layout)
                    if aligned.pilot_z <= best.pilot_z:
                        break
                    best_g, best = g, aligned
        step_s, step_a = step_s / 2, step_a / 2
    return best_g, best
