"""SSIM of candidate marked images against one original, fast enough to steer the embedding strength.

SSIM (Wang et al. 2004) as ``skimage.metrics.structural_similarity`` computes it: 7 x 7 uniform
windows, sample covariances, the 3 px border left out, channels averaged. The original's window
moments are filtered once; each candidate costs three box filters per channel, or two plus one
per channel when the candidate adds the same change to every channel (the embedder's case).
Windows are evaluated on every third row and column, summed from strided slices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Clipped", "SsimReference", "plane"]

_K1, _K2 = 0.01, 0.03
_WIN = 7
_COV = _WIN * _WIN / (_WIN * _WIN - 1.0)  # sample covariance, as skimage's default
_STRIDE = 3  # one window centre in 9 (on a 1 MP image the mean moves by about 1e-4)

FloatArray = npt.NDArray[np.float32]
PixelArray = npt.NDArray[np.float32] | npt.NDArray[np.integer]


def _box(z: npt.NDArray[np.floating]) -> FloatArray:
    """7 x 7 window means at every ``_STRIDE``-th window centre each way, the border left out.

    Window ``k`` covers rows ``3k .. 3k + 6``: two blocks of three rows and one more row, so the
    sums are built from strided slices (each value read once), not a full box filter.
    """
    h, w = z.shape
    n, m = (h - _WIN) // _STRIDE + 1, (w - _WIN) // _STRIDE + 1
    blocks = z[0 : 3 * n + 3 : 3] + z[1 : 3 * n + 3 : 3]
    blocks += z[2 : 3 * n + 3 : 3]
    rows = blocks[:-1] + blocks[1:]
    rows += z[6 : 3 * n + 4 : 3]
    blocks = rows[:, 0 : 3 * m + 3 : 3] + rows[:, 1 : 3 * m + 3 : 3]
    blocks += rows[:, 2 : 3 * m + 3 : 3]
    out = blocks[:, :-1] + blocks[:, 1:]
    out += rows[:, 6 : 3 * m + 4 : 3]
    out *= np.float32(1.0 / (_WIN * _WIN))
    return np.asarray(out, dtype=np.float32)


@dataclass(frozen=True)
class Clipped:
    """The pixels where a common change pushes a channel out of range: the change there is
    ``moved + excess`` per channel instead of ``moved``.

    Attributes:
        rows, cols: ``(k,)`` the pixels.
        x: ``(k, channels)`` their original values.
        moved: ``(k,)`` the common change.
        excess: ``(k, channels)`` what clipping takes off (0 in channels that stay in range).
    """

    rows: npt.NDArray[np.integer]
    cols: npt.NDArray[np.integer]
    x: FloatArray
    moved: FloatArray
    excess: FloatArray


class _SparseBox:
    """:func:`_box` of images that are zero except at the clipped pixels: each pixel adds to the
    (up to 3 x 3) strided windows that hold it; the window of every (pixel, window) pair is
    found once, then each image is one weighted count."""

    def __init__(self, clipped: Clipped, shape: tuple[int, int]) -> None:
        n, m = shape
        first_row = np.maximum(-(-(clipped.rows - (_WIN - 1)) // _STRIDE), 0)
        first_col = np.maximum(-(-(clipped.cols - (_WIN - 1)) // _STRIDE), 0)
        last_row, last_col = np.minimum(clipped.rows // _STRIDE, n - 1), np.minimum(clipped.cols // _STRIDE, m - 1)
        windows, sources = [], []
        for dr in range(3):
            r = first_row + dr
            for dc in range(3):
                c = first_col + dc
                ok = np.flatnonzero((r <= last_row) & (c <= last_col)).astype(np.int32)
                windows.append((r[ok] * m + c[ok]).astype(np.int32))  # int32: half the memory on 50 MP
                sources.append(ok)
        self.windows, self.sources, self.shape = np.concatenate(windows), np.concatenate(sources), shape

    def __call__(self, values: FloatArray) -> FloatArray:
        """The window means of the image holding ``values`` (one per clipped pixel)."""
        total = np.bincount(self.windows, weights=values[self.sources], minlength=self.shape[0] * self.shape[1])
        return np.asarray(total.reshape(self.shape) / (_WIN * _WIN), dtype=np.float32)


def plane(pixels: PixelArray, c: int) -> PixelArray:
    """Channel ``c`` of ``(h, w, c)`` pixels; grey ``(h, w)`` pixels themselves."""
    return pixels if pixels.ndim == 2 else pixels[..., c]


class SsimReference:
    """Mean SSIM of candidates against ``original`` (``(h, w)`` or ``(h, w, c)`` in ``[0, peak]``,
    float or integer).

    A candidate's statistics are computed from its difference to the original (small numbers,
    no cancellation in float32); the original's own moments are filtered once, centred on mid-grey
    (float32: within 2e-3 of float64's variance on 49 MP, against SSIM's constant of 58.5). The
    original is referenced, not copied. With ``band``, the original is a sample of bands of
    ``band`` rows each, stacked, and only windows inside one band count.
    """

    def __init__(self, original: PixelArray, *, peak: float, band: int | None = None) -> None:
        if min(original.shape[:2]) <= 2 * _WIN:
            raise ValueError(f"SSIM needs images larger than {2 * _WIN} px, got {original.shape[:2]}")
        self.original, self.shape = original, original.shape
        self.c1, self.c2 = np.float32((_K1 * peak) ** 2), np.float32((_K2 * peak) ** 2)
        self.channels = 1 if original.ndim == 2 else original.shape[2]
        # Rows of windows to average: all, or (``band``: the original is bands of that many rows
        # stacked) those that lie inside one band.
        n = (original.shape[0] - _WIN) // _STRIDE + 1
        starts = np.arange(n) * _STRIDE
        self.rows = slice(None) if band is None else np.flatnonzero(starts % band + _WIN <= band)
        self.moments: list[tuple[FloatArray, FloatArray]] = []
        mid = np.float32(peak / 2.0)
        for c in range(self.channels):
            x = plane(original, c).astype(np.float32) - mid
            ux = _box(x)
            x *= x
            vx = np.float32(_COV) * (_box(x) - ux * ux)
            self.moments.append((ux + mid, vx))

    def mean_ssim(self, candidate: PixelArray) -> float:
        """The mean SSIM of ``candidate`` (same shape as the original), averaged over channels."""
        if candidate.shape != self.shape:
            raise ValueError(f"the candidate's shape {candidate.shape} differs from the original's {self.shape}")
        return self.mean_ssim_change(np.asarray(candidate, np.float32) - self.original.astype(np.float32))

    def mean_ssim_change(self, change: FloatArray, clipped: Clipped | None = None) -> float:
        """The mean SSIM of ``original + change``: ``change`` has the original's shape, or is
        ``(h, w)`` and added to every channel (two box filters shared by all channels), except at
        ``clipped`` pixels, where each channel's own change is given."""
        if change.shape not in (self.shape, self.shape[:2]):
            raise ValueError(f"the change's shape {change.shape} differs from the original's {self.shape}")
        common = change.ndim == 2
        if common:
            ud0 = _box(change)
            sq0 = _box(change * change)
        total = 0.0
        sparse = None
        for c, (ux, vx) in enumerate(self.moments):
            if not common:
                d = np.ascontiguousarray(change[..., c])
                ud, sq, xd = _box(d), _box(d * d), _box(plane(self.original, c) * d)
            else:
                ud, sq, xd = ud0, sq0, _box(plane(self.original, c) * change)
                if clipped is not None and np.any(clipped.excess[:, c]):
                    sparse = sparse or _SparseBox(clipped, ud.shape)
                    e = clipped.excess[:, c]
                    ud = ud + sparse(e)
                    sq = sq + sparse(e * (2 * clipped.moved + e))
                    xd = xd + sparse(clipped.x[:, c] * e)
            vd = np.float32(_COV) * (sq - ud * ud)
            cxd = np.float32(_COV) * (xd - ux * ud)
            uy = ux + ud
            luminance = (2 * ux * uy + self.c1) / (ux * ux + uy * uy + self.c1)
            structure = (2 * (vx + cxd) + self.c2) / (2 * (vx + cxd) + vd + self.c2)
            total += float(np.mean((luminance * structure)[self.rows], dtype=np.float64))
        return total / self.channels
