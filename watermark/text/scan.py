"""Windowed scan for where a watermark is concentrated, with a document-level FPR guarantee.

Windows of 32, 64, 128, ... scored tokens (each shorter than the text) slide with half-window
stride over the sequence of scored positions. Each window gets the scheme's exact p-value; the
scan's p-value is the smallest one times the number of windows (Bonferroni), so on text without
the mark the probability that any span is reported is at most ``alpha``, whatever the dependence
between overlapping windows. Spans are the maximum-likelihood segments around the significant
windows (see ``_merge``), so they start and end on tokens with positive evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ScanResult", "TokenSpan", "scan_windows"]

PValueFn = Callable[[npt.ArrayLike, npt.ArrayLike], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class TokenSpan:
    """A run of scored positions ``[first, last]`` (indices into the scored sequence)."""

    first: int
    last: int
    tokens_scored: int
    score_sum: float
    p_value: float  # Bonferroni-adjusted over all windows of the scan
    trials: float  # null trials inside (tokens_scored unless the scheme counts trials per token)


@dataclass(frozen=True)
class ScanResult:
    """Outcome of a scan: number of windows tested, adjusted minimum p-value, spans found."""

    windows: int
    p_value: float
    spans: tuple[TokenSpan, ...]


def _window_starts(n: int, width: int) -> npt.NDArray[np.int64]:
    stride = width // 2
    starts = np.arange(0, n - width + 1, stride, dtype=np.int64)
    if starts[-1] != n - width:
        starts = np.append(starts, n - width)
    return starts


def scan_windows(
    values: npt.NDArray[np.float64],
    pvalue: PValueFn,
    *,
    null_mean: float,
    alpha: float,
    min_window: int = 32,
    trials: npt.NDArray[np.float64] | None = None,
) -> ScanResult:
    """Scan the scores of the scored positions, in text order.

    Args:
        values: ``(n,)`` per-token scores of the scored positions only.
        pvalue: the scheme's exact tail ``pvalue(score_sum, tokens)``.
        null_mean: expected per-token score of unmarked text (KGW: gamma).
        alpha: spans are reported where the adjusted p-value is ``<= alpha``.
        min_window: smallest window, in scored tokens.
        trials: ``(n,)`` null trials per scored position, when the scheme's p-value counts
            trials rather than tokens (``None``: one each).

    Returns:
        The scan result; ``windows == 0`` (and ``p_value == 1``) when the text is shorter than
        two smallest windows, where the whole-text test is the only sensible one.
    """
    n = int(values.size)
    widths = []
    w = min_window
    while w < n:
        widths.append(w)
        w *= 2
    if n < 2 * min_window:
        return ScanResult(0, 1.0, ())
    csum = np.concatenate([[0.0], np.cumsum(values)])
    all_starts, all_widths = [], []
    for width in widths:
        starts = _window_starts(n, width)
        all_starts.append(starts)
        all_widths.append(np.full(starts.size, width, dtype=np.int64))
    starts = np.concatenate(all_starts)
    widths_arr = np.concatenate(all_widths)
    sums = csum[starts + widths_arr] - csum[starts]
    tsum = np.concatenate([[0.0], np.cumsum(np.ones(n) if trials is None else trials)])
    adjusted = np.minimum(1.0, pvalue(sums, tsum[starts + widths_arr] - tsum[starts]) * starts.size)
    spans = _merge(values, csum, tsum, starts, widths_arr, adjusted, alpha, null_mean)
    return ScanResult(int(starts.size), float(adjusted.min()), spans)


def _best_segment(c: npt.NDArray[np.float64]) -> tuple[int, int]:
    """Maximum-sum contiguous segment ``[i, j]`` of ``c`` (Kadane, vectorised with cumsums)."""
    csum = np.concatenate([[0.0], np.cumsum(c)])
    lowest_before = np.minimum.accumulate(csum[:-1])  # min over csum[0..j]
    j = int(np.argmax(csum[1:] - lowest_before))
    return int(np.argmin(csum[: j + 1])), j


def _merge(
    values: npt.NDArray[np.float64],
    csum: npt.NDArray[np.float64],
    tsum: npt.NDArray[np.float64],
    starts: npt.NDArray[np.int64],
    widths: npt.NDArray[np.int64],
    adjusted: npt.NDArray[np.float64],
    alpha: float,
    null_mean: float,
) -> tuple[TokenSpan, ...]:
    hits = np.flatnonzero(adjusted <= alpha)
    if hits.size == 0:
        return ()
    hs, he, hp = starts[hits], starts[hits] + widths[hits], adjusted[hits]
    # Spans are maximum-likelihood segments: the best-sum runs of (score - m), where m lies halfway
    # between the null mean and the mean inside the significant windows; each must overlap a
    # significant window. Found greedily, then searched for again left and right of each.
    marked_mean = float(np.mean((csum[he] - csum[hs]) / (tsum[he] - tsum[hs])))
    centred = values - 0.5 * (null_mean + marked_mean) * np.diff(tsum)
    spans: list[TokenSpan] = []
    pending = [(0, int(values.size))]
    while pending:
        lo, hi = pending.pop()
        inside = (hs >= lo) & (he <= hi)
        if hi - lo < 1 or not inside.any():
            continue
        i, j = _best_segment(centred[lo:hi])
        first, last = lo + i, lo + j
        overlaps = inside & (hs <= last) & (he > first)
        if not overlaps.any():  # the best run is elsewhere: fall back to the strongest window
            k = int(np.flatnonzero(inside)[np.argmin(hp[inside])])
            first, last = int(hs[k]), int(he[k]) - 1
            overlaps = inside & (hs <= last) & (he > first)
        p = float(hp[overlaps].min())
        spans.append(
            TokenSpan(
                first,
                last,
                last - first + 1,
                float(csum[last + 1] - csum[first]),
                p,
                float(tsum[last + 1] - tsum[first]),
            )
        )
        pending += [(lo, first), (last + 1, hi)]
    return tuple(sorted(spans, key=lambda sp: sp.first))
