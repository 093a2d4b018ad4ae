"""SSIM of candidate marked images against one original, fast enough to steer the embedding strength.

SSIM (Wang et al. 2004) as ``skimage.metrics.structural_similarity`` computes it: 7 x 7 uniform
windows, sample covariances, the 3 px border left out, channels averaged. The original's window
moments are filtered once; each candidate costs three box filters. Windows are evaluated on
every third row and column.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["SsimReference"]

_K1, _K2 = 0.01, 0.03
_WIN = 7
_PAD = (_WIN - 1) // 2
_COV = _WIN * _WIN / (_WIN * _WIN - 1.0)  # sample covariance, as skimage's default
_STRIDE = 3  # one window centre in 9 (on a 1 MP image the mean moves by about 1e-4)

FloatArray = npt.NDArray[np.float32]


def _box(z: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    """7 x 7 window means at every ``_STRIDE``-th window centre each way."""
    out = cv2.boxFilter(z, -1, (_WIN, _WIN), normalize=True, borderType=cv2.BORDER_REFLECT)
    return np.asarray(out[_PAD:-_PAD:_STRIDE, _PAD:-_PAD:_STRIDE])


def _planes(pixels: FloatArray) -> list[FloatArray]:
    if pixels.ndim == 2:
        return [np.ascontiguousarray(pixels, dtype=np.float32)]
    return [np.ascontiguousarray(pixels[..., c], dtype=np.float32) for c in range(pixels.shape[2])]


class SsimReference:
    """Mean SSIM of candidates against ``original`` (``(h, w)`` or ``(h, w, c)`` in ``[0, peak]``).

    A candidate's statistics are computed from its difference to the original (small numbers,
    no cancellation in float32); the original's own variance is filtered once in float64. One
    channel at a time, so a 50 MP image needs about one extra copy of itself, not five.
    """

    def __init__(self, original: FloatArray, *, peak: float) -> None:
        if min(original.shape[:2]) <= 2 * _WIN:
            raise ValueError(f"SSIM needs images larger than {2 * _WIN} px, got {original.shape[:2]}")
        self.shape = original.shape
        self.c1, self.c2 = np.float32((_K1 * peak) ** 2), np.float32((_K2 * peak) ** 2)
        self.planes = []
        for x in _planes(original):
            x64 = x.astype(np.float64)
            ux = _box(x64)
            vx = _COV * (_box(x64 * x64) - ux * ux)
            self.planes.append((x, ux.astype(np.float32), vx.astype(np.float32)))

    def mean_ssim(self, candidate: FloatArray) -> float:
        """The mean SSIM of ``candidate`` (same shape as the original), averaged over channels."""
        if candidate.shape != self.shape:
            raise ValueError(f"the candidate's shape {candidate.shape} differs from the original's {self.shape}")
        total = 0.0
        for c, (x, ux, vx) in enumerate(self.planes):
            d = (candidate if candidate.ndim == 2 else candidate[..., c]).astype(np.float32) - x
            ud = _box(d)
            vd = _COV * (_box(d * d) - ud * ud)
            cxd = _COV * (_box(x * d) - ux * ud)
            uy = ux + ud
            luminance = (2 * ux * uy + self.c1) / (ux * ux + uy * uy + self.c1)
            structure = (2 * (vx + cxd) + self.c2) / (2 * (vx + cxd) + vd + self.c2)
            total += float(np.mean(luminance * structure, dtype=np.float64))
        return total / len(self.planes)
