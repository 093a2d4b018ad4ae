"""Find the watermark's geometry without the original: any linear map and shift; fold the tiles.

1. The luminance is brought to a *detection frame* (short side 512 px, long side cropped to
   1024) and whitened (high-pass, divided by the local RMS) so the host image's own spectrum
   no longer dominates.
2. A repeated tile shows as a lattice of peaks in the spectrally whitened autocorrelation. Any
   linear distortion of the image (rotation, scale, aspect change, shear) moves the lattice's
   basis vectors ``128 e1, 128 e2`` to ``128 L e1, 128 L e2``, so two peaks determine the whole
   map ``L`` (:class:`Geometry`). Single peaks propose square lattices (rotation and scale),
   pairs of about orthogonal, about equally long peaks propose general ones, and unrotated
   lattices are scanned directly (:func:`search_geometry`, :func:`upright_axes`); every proposal
   is scored on the autocorrelation at the lattice points and refined. Magnitudes ignore
   translation, so crops with any offset are searched the same way. A square lattice is
   symmetric under quarter turns: the pilot decides the turn later.
3. For a candidate geometry the frame is warped back by ``L``'s inverse to the canonical grid
   (tile = 128 px, upright) and all tiles are summed modulo 128 (*folding*), which averages the
   host away and keeps the mark; the key's pilot then fixes the cyclic shift and the quarter
   turn (:func:`align`), and :func:`polish` refines ``L`` on the pilot itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt
import scipy.fft
from scipy.ndimage import maximum_filter

from .layout import BAND, TILE, TileLayout

__all__ = [
    "Alignment",
    "Geometry",
    "align",
    "autocorrelation",
    "detection_frame",
    "distinct",
    "fold",
    "pilot_z",
    "polish",
    "search_geometry",
    "untouched_geometry",
    "upright_axes",
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
    """A candidate geometry: the linear map from canonical tile coordinates to frame coordinates.

    ``linear`` is ``(a, b, c, d)`` for ``[[a, b], [c, d]]``: canonical ``(x, y)`` lands at
    ``(a x + b y, c x + d y)`` in the frame (the shift is found later by the pilot). An untouched
    image has ``scale * I``; rotation, resizing, aspect change and shear are all linear maps.
    """

    linear: tuple[float, float, float, float]
    score: float = 0.0

    @classmethod
    def similarity(cls, scale: float, angle: float, score: float = 0.0) -> Geometry:
        """Scale by ``scale`` and turn by ``angle`` degrees."""
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        return cls((scale * c, -scale * s, scale * s, scale * c), score)

    @classmethod
    def of(cls, matrix: F64, score: float = 0.0) -> Geometry:
        """From a ``(2, 2)`` matrix."""
        return cls(tuple(float(v) for v in matrix.reshape(4)), score)  # type: ignore[arg-type]

    @property
    def matrix(self) -> F64:
        """The ``(2, 2)`` linear map."""
        return np.array(self.linear, dtype=np.float64).reshape(2, 2)

    def describe(self) -> dict[str, float]:
        """Scale, rotation (degrees), aspect (stretch of the tile's x axis over its y axis) and shear (degrees).

        From ``L = R(angle) @ [[sx, k], [0, sy]]``: scale ``sqrt(sx sy)``, aspect ``sx / sy``, shear
        ``atan(k / sy)``.
        """
        m = self.matrix
        sx = math.hypot(m[0, 0], m[1, 0])
        angle = math.degrees(math.atan2(m[1, 0], m[0, 0]))
        rot = np.array([[m[0, 0], -m[1, 0]], [m[1, 0], m[0, 0]]]) / sx
        upper = rot.T @ m
        sy, k = float(upper[1, 1]), float(upper[0, 1])
        return {
            "scale": math.sqrt(abs(sx * sy)),
            "angle": angle,
            "aspect": sx / sy if sy else float("inf"),
            "shear": math.degrees(math.atan2(k, sy)),
        }


@dataclass(frozen=True)
class Alignment:
    """The folded tile's spectrum brought into register with a key's pilot."""

    spectrum: ComplexArray
    pilot_z: float
    quarter_turns: int
    shift: tuple[float, float]


def untouched_geometry(height: int, width: int) -> Geometry:
    """Where the tile sits in the frame of an image that was not resized, cropped or rotated."""
    return Geometry.similarity(max(1.0, DETECT_SIDE / min(height, width)), 0.0)


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


@lru_cache(maxsize=8)
def _outside_band(height: int, width: int) -> npt.NDArray[np.bool_]:
    """Frequencies of a ``(height, width)`` real FFT where no geometry in range puts the mark."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.hypot(fy, fx) * TILE
    lo, hi = BAND[0] / SCALE_RANGE[1], BAND[1] / SCALE_RANGE[0]
    return np.asarray((radius < 0.9 * lo) | (radius > 1.1 * hi))


def autocorrelation(residual: FloatArray) -> FloatArray:
    """Spectrally whitened autocorrelation of the residual (float32), zero lag at ``[0, 0]`` (lags wrap).

    Dividing the power spectrum by its local mean before transforming back (a self phase
    correlation) turns the repeated tile into sharp peaks at the lattice vectors, whatever the
    host image's spectrum; frequencies outside the band any geometry in range could put the mark
    at are cut.
    """
    h, w = residual.shape
    size = (cv2.getOptimalDFTSize(h + _MAX_LAG), cv2.getOptimalDFTSize(w + _MAX_LAG))
    power = np.abs(scipy.fft.rfft2(residual.astype(np.float32, copy=False), s=size)) ** 2
    power /= cv2.blur(power, (9, 9), borderType=cv2.BORDER_REFLECT) + np.float32(1e-12)
    power[_outside_band(*size)] = 0.0
    acf = scipy.fft.irfft2(power, s=size)
    acf /= acf[0, 0] + np.float32(1e-12)
    return np.asarray(acf, dtype=np.float32)


def _sample(acf: FloatArray, x: F64, y: F64) -> F64:
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
_LATTICE_LAGS = (_LATTICE * float(TILE)).T  # (2, points)
# Directions of a small change of the linear map, applied on the canonical side: L @ (I + e D).
_UNIFORM = np.eye(2)
_TURN = np.array([[0.0, -1.0], [1.0, 0.0]])
_STRETCH = np.array([[1.0, 0.0], [0.0, -1.0]])
_SHEAR = np.array([[0.0, 1.0], [1.0, 0.0]])
_DIRECTIONS = np.stack([_UNIFORM, _TURN, _STRETCH, _SHEAR])
_MAX_ASPECT = 1.45  # largest stretch of one lattice axis against the other that is searched
_MIN_ANGLE, _MAX_ANGLE = 60.0, 120.0  # angle between the two lattice vectors that is searched
_MAX_CLIMB = 64


def _lattice_score(acf: FloatArray, linear: F64) -> F64:
    """Mean autocorrelation at the lattice vectors of each ``(..., 2, 2)`` linear map."""
    points = linear @ _LATTICE_LAGS  # (..., 2, lattice points)
    return np.asarray(_sample(acf, points[..., 0, :], points[..., 1, :]).mean(axis=-1), dtype=np.float64)


def _climb(acf: FloatArray, linear: F64, *, step: float = 0.002, floor: float = 0.0005) -> tuple[F64, F64]:
    """Pattern search of many ``(n, 2, 2)`` maps at once on the lattice score, along all four directions."""
    n = len(linear)
    moves = np.concatenate([_DIRECTIONS, -_DIRECTIONS])
    steps = np.full(n, step)
    score = _lattice_score(acf, linear)
    for _ in range(_MAX_CLIMB):  # the score rises strictly; the cap only bounds the worst case
        if not np.any(steps >= floor):
            break
        trial = linear[:, None] @ (np.eye(2) + steps[:, None, None, None] * moves[None])  # (n, moves, 2, 2)
        scores = _lattice_score(acf, trial)
        best = np.argmax(scores, axis=1)
        gain = scores[np.arange(n), best] > score
        linear = np.where(gain[:, None, None], trial[np.arange(n), best], linear)
        score = np.where(gain, scores[np.arange(n), best], score)
        steps = np.where(gain, steps, steps / 2)
    return linear, score


def _grid_refine(acf: FloatArray, linear: F64, span: float, steps: int) -> tuple[F64, F64]:
    """The best of a ``steps`` x ``steps`` grid of scale x rotation changes (``+-span``, relative/radians) per map.

    A weak mark's lattice peak is narrower than the error of an integer autocorrelation peak at
    the outer lattice points, so a hill climb from there wanders off on host noise; a dense grid
    around it does not.
    """
    t = np.linspace(-span, span, steps)
    s, a = np.meshgrid(np.exp(t), t, indexing="ij")
    change = np.stack([np.stack([s * np.cos(a), -s * np.sin(a)], -1), np.stack([s * np.sin(a), s * np.cos(a)], -1)], -2)
    trial = linear[:, None] @ change.reshape(1, -1, 2, 2)  # (n, steps**2, 2, 2)
    scores = _lattice_score(acf, trial)
    best = np.argmax(scores, axis=1)
    rows = np.arange(len(linear))
    return trial[rows, best], scores[rows, best]


def _canonical(linear: F64) -> F64:
    """One representative per lattice: of the basis vectors ``+-v1, +-v2`` the one nearest the x axis first.

    A lattice basis is only defined up to quarter turns (the pilot decides those); the
    representative keeps the determinant's sign, so mirror images are never proposed.
    """
    out = np.empty_like(linear)
    for i, m in enumerate(linear):
        columns = [m[:, 0], m[:, 1], -m[:, 0], -m[:, 1]]
        first = min(range(4), key=lambda j: abs(math.atan2(columns[j][1], columns[j][0])))
        out[i] = np.stack([columns[first], columns[(first + 1) % 4]], axis=1)
    return out


def _peaks(acf: FloatArray, count: int) -> F64:
    """The ``count`` highest local maxima of the autocorrelation at lags a tile period in range, as ``(n, 2)`` (x, y).

    The autocorrelation is symmetric, so only one half plane of lags is kept.
    """
    h, w = acf.shape
    reach = math.ceil(1.05 * TILE * SCALE_RANGE[1] * _MAX_ASPECT**0.5)
    ry, rx = min(reach, h // 2 - 1), min(reach, w // 2 - 1)
    window = np.block(
        [[acf[h - ry :, w - rx :], acf[h - ry :, : rx + 1]], [acf[: ry + 1, w - rx :], acf[: ry + 1, : rx + 1]]]
    )
    dilated = cv2.dilate(window, np.ones((5, 5), np.uint8))
    lx, ly, eligible = _lag_window(ry, rx)
    iy, ix = np.nonzero((window >= dilated) & eligible)
    order = np.argsort(-window[iy, ix])[:count]
    return np.stack([lx[ix[order]], ly[iy[order]]], axis=1).astype(np.float64)


@lru_cache(maxsize=8)
def _lag_window(ry: int, rx: int) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
    """Lags of a ``(2 ry + 1, 2 rx + 1)`` window centred on zero lag, and which of them can be a tile period."""
    ly = np.arange(-ry, ry + 1, dtype=np.float64)
    lx = np.arange(-rx, rx + 1, dtype=np.float64)
    length = np.hypot(ly[:, None], lx[None, :])
    lo, hi = 0.95 * TILE * SCALE_RANGE[0] / _MAX_ASPECT**0.5, 1.05 * TILE * SCALE_RANGE[1] * _MAX_ASPECT**0.5
    half = (ly[:, None] > 0) | ((ly[:, None] == 0) & (lx[None, :] > 0))
    return lx, ly, np.asarray((length >= lo) & (length <= hi) & half)


def _pairs(peaks: F64) -> F64:
    """Lattice bases from pairs of peaks: about orthogonal, about equally long, as ``(n, 2, 2)`` maps."""
    out = []
    for i in range(len(peaks)):
        for j in range(i + 1, len(peaks)):
            p, q = peaks[i], peaks[j]
            ratio = math.hypot(*p) / math.hypot(*q)
            angle = math.degrees(abs(math.atan2(p[0] * q[1] - p[1] * q[0], p @ q)))
            if 1 / _MAX_ASPECT <= ratio <= _MAX_ASPECT and _MIN_ANGLE <= angle <= _MAX_ANGLE:
                if p[0] * q[1] - p[1] * q[0] < 0:
                    q = -q
                out.append(np.stack([p, q], axis=1) / TILE)
    return np.array(out, dtype=np.float64).reshape(-1, 2, 2)


def distinct(geometries: Sequence[Geometry]) -> list[Geometry]:
    """``geometries`` without the ones that describe the same lattice as an earlier one (order kept)."""
    if not geometries:
        return []
    linear = np.stack([g.matrix for g in geometries])
    canon = _canonical(linear)
    out: list[Geometry] = []
    kept: list[F64] = []
    for g, m in zip(geometries, canon, strict=True):
        if not any(np.abs(m - k).max() < 0.01 * np.abs(k).max() for k in kept):
            kept.append(m)
            out.append(g)
    return out


def _dedupe(linear: F64, score: F64, keep: int) -> list[Geometry]:
    canon = _canonical(linear)
    out: list[Geometry] = []
    kept: list[F64] = []
    for i in np.argsort(-score):
        m = canon[i]
        if any(np.abs(m - k).max() < 0.01 * np.abs(k).max() for k in kept):
            continue
        kept.append(m)
        out.append(Geometry.of(m, float(score[i])))
        if len(out) == keep:
            break
    return out


def search_geometry(
    acf: FloatArray, *, candidates: int = 3, general_candidates: int = 4, peaks: int = 40, pairs: int = 12
) -> list[Geometry]:
    """The best square (``candidates``) and general (``general_candidates``) lattices from autocorrelation peaks.

    Each of the ``peaks`` strongest peaks whose length is a tile period in range proposes a
    square lattice (rotation and scale); each pair of about orthogonal, about equally long peaks
    among the ``pairs`` strongest proposes a general one (aspect change and shear too). Every
    proposal is refined on grids of scale and rotation, and general ones then climb over all
    four directions of a linear map; the distinct best of each kind are returned, apart:
    with more freedom the general maps fit host structure too and would crowd out the square
    proposals, among which a weak mark's true lattice often ranks low on this score.
    """
    found = _peaks(acf, peaks)
    if len(found) == 0:
        return []
    x, y = found[:, 0], found[:, 1]
    square = np.stack([np.stack([x, -y], axis=1), np.stack([y, x], axis=1)], axis=1) / TILE  # [[x, -y], [y, x]]
    square, _ = _grid_refine(acf, square, 0.02, 11)
    square, square_score = _grid_refine(acf, square, 0.004, 9)
    general, _ = _grid_refine(acf, _pairs(found[:pairs]), 0.02, 11)
    general, _ = _grid_refine(acf, general, 0.004, 9)
    general, general_score = _climb(acf, general)
    return _dedupe(square, square_score, candidates) + _dedupe(general, general_score, general_candidates)


def upright_axes(acf: FloatArray, *, candidates: int = 4, stretched: int = 2) -> list[Geometry]:
    """The best unrotated lattices: ``candidates`` scaled alike, ``stretched`` with each axis on its own.

    Constraining the angle to 0 lets the true scale outrank lattice-like structure of the host
    image that the free search proposes at other angles (crops and resizes without rotation, the
    common case). Stretched lattices (aspect changes) come from scanning each axis on its own two
    lattice points and combining the best few of each; they are kept apart because with two
    free scales they fit host structure better and would crowd out the uniform ones.
    """
    grid = np.exp(np.arange(math.log(SCALE_RANGE[0]), math.log(SCALE_RANGE[1]), 0.002))
    uniform = _lattice_score(acf, grid[:, None, None] * np.eye(2))
    peaks = np.nonzero(uniform >= maximum_filter(uniform, size=9, mode="nearest"))[0]
    peaks = peaks[np.argsort(-uniform[peaks])][:candidates]
    same = [Geometry.similarity(float(grid[i]), 0.0, float(uniform[i])) for i in peaks]
    picks = []
    for axis in range(2):
        score = np.zeros_like(grid)
        for k in (1, 2):
            lag = k * TILE * grid
            score += _sample(acf, lag, np.zeros_like(lag)) if axis == 0 else _sample(acf, np.zeros_like(lag), lag)
        best = np.nonzero(score >= maximum_filter(score, size=9, mode="nearest"))[0]
        picks.append(grid[best[np.argsort(-score[best])][:candidates]])
    sx, sy = (v.ravel() for v in np.meshgrid(picks[0], picks[1], indexing="ij"))
    keep = (sx / sy <= _MAX_ASPECT) & (sy / sx <= _MAX_ASPECT) & (np.abs(np.log(sx / sy)) > 0.01)
    linear = np.zeros((int(keep.sum()), 2, 2))
    linear[:, 0, 0], linear[:, 1, 1] = sx[keep], sy[keep]
    return same + _dedupe(linear, _lattice_score(acf, linear), stretched)


def fold(residual: FloatArray, geometry: Geometry) -> F64:
    """Warp the residual to the canonical grid under ``geometry`` and sum it modulo the tile."""
    h, w = residual.shape
    linear = geometry.matrix
    # Canonical size: the frame's bounding box in canonical units, padded to whole tiles.
    extent = np.abs(np.linalg.inv(linear)) @ np.array([w, h], dtype=np.float64)
    cw, ch = (math.ceil(float(e) / TILE) * TILE for e in extent)
    src_centre = np.array([(w - 1) / 2, (h - 1) / 2])
    dst_centre = np.array([(cw - 1) / 2, (ch - 1) / 2])
    matrix = np.hstack([linear, (src_centre - linear @ dst_centre)[:, None]]).astype(np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(residual, matrix, (cw, ch), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # Which canonical pixels the frame covers: nearest-neighbour is exact inside, a pixel off at the rim.
    ones = np.ones_like(residual)
    near = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    weight = cv2.warpAffine(ones, matrix, (cw, ch), flags=near, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    total = warped.reshape(ch // TILE, TILE, cw).sum(axis=0).reshape(TILE, cw // TILE, TILE).sum(axis=1)
    count = weight.reshape(ch // TILE, TILE, cw).sum(axis=0).reshape(TILE, cw // TILE, TILE).sum(axis=1)
    total, count = total.astype(np.float64), count.astype(np.float64)
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


def _turned(spectrum: ComplexArray, turns: int) -> ComplexArray:
    """The spectrum of the tile turned by ``turns`` quarter turns about its origin (``y[i, j] = x[j, -i]``)."""
    negated = (-np.arange(TILE)) % TILE
    for _ in range(turns):
        spectrum = spectrum.T[negated]
    return spectrum


@lru_cache(maxsize=32)
def _pilot_filters(layout: TileLayout) -> ComplexArray:
    """``(4, TILE, TILE // 2 + 1)``: the conjugate pilot spectrum turned back by 0..3 quarter turns.

    Correlating the folded tile turned by ``t`` with the pilot equals correlating the tile with
    the pilot turned by ``-t``, so the folded tile is transformed once.
    """
    pilot = np.conj(layout.pilot_spectrum())
    return np.stack([_turned(pilot, (4 - t) % 4)[:, : TILE // 2 + 1] for t in range(4)])


def pilot_z(folded: F64, layout: TileLayout, *, turns: Sequence[int] = (0, 1, 2, 3)) -> tuple[float, int]:
    """The pilot's z-score at its best cyclic shift and the quarter turn (of ``turns``) that gives it."""
    z, turn, _ = _pilot_correlation(folded, layout, turns)
    return z, turn


def _pilot_correlation(folded: F64, layout: TileLayout, turns: Sequence[int]) -> tuple[float, int, F64]:
    filters = _pilot_filters(layout)[list(turns)]
    corr = np.fft.irfft2(np.fft.rfft2(folded)[None] * filters, s=(TILE, TILE))
    flat = corr.reshape(len(turns), -1)
    z = (flat.max(axis=1) - flat.mean(axis=1)) / (flat.std(axis=1) + 1e-12)
    best = int(np.argmax(z))
    return float(z[best]), int(turns[best]), corr[best]


def align(folded: F64, layout: TileLayout, *, turns: Sequence[int] = (0, 1, 2, 3)) -> Alignment:
    """Fix the cyclic shift and quarter turn of ``folded`` against the key's pilot (trying ``turns``)."""
    z, turn, corr = _pilot_correlation(folded, layout, turns)
    iy, ix = np.unravel_index(int(np.argmax(corr)), corr.shape)
    dy, dx = _subpixel(corr, int(iy), int(ix))
    k = np.fft.fftfreq(TILE) * TILE
    ramp = np.exp(2j * np.pi * k * dy / TILE)[:, None] * np.exp(2j * np.pi * k * dx / TILE)[None, :]
    spectrum = _turned(np.fft.fft2(folded), turn) * ramp
    return Alignment(spectrum=spectrum, pilot_z=z, quarter_turns=turn, shift=(dy, dx))


def polish(
    residual: FloatArray, geometry: Geometry, layout: TileLayout, *, rounds: int = 2
) -> tuple[Geometry, Alignment]:
    """Refine a geometry by coordinate ascent on the key's pilot z (sharper than the lattice score).

    A scale error of 0.3 % drifts the outer tiles of a 512 px frame by more than a pixel, which
    costs the highest rings most of their coherence; the autocorrelation peak is not that precise
    on textured images, the pilot correlation is. A square lattice (scale and rotation only) is
    climbed along those two directions, a general one along all four (scale, rotation, aspect,
    shear); the quarter turn found first is kept.
    """
    best_z, turn = pilot_z(fold(residual, geometry), layout)
    best_g, step = geometry, 0.004
    m = geometry.matrix
    square = abs(m[0, 0] - m[1, 1]) < 1e-9 and abs(m[0, 1] + m[1, 0]) < 1e-9
    for _ in range(rounds):
        for direction in _DIRECTIONS[:2] if square else _DIRECTIONS:
            for sign in (-1.0, 1.0):
                while True:
                    g = Geometry.of(best_g.matrix @ (np.eye(2) + sign * step * direction))
                    z, _ = pilot_z(fold(residual, g), layout, turns=(turn,))
                    if z <= best_z:
                        break
                    best_g, best_z = g, z
        step /= 2
    return best_g, align(fold(residual, best_g), layout, turns=(turn,))
