"""Windowed scan for where a watermark is concentrated, with a document-level FPR guarantee.

Windows of 32, 64, 128, ... scored tokens (each shorter than the text) slide with half-window
stride over the sequence of scored positions. Each window gets the scheme's exact p-value; the
scan's p-value is the smallest one times the number of windows (Bonferroni), so on text without
the mark the probability that any span is reported is at most ``alpha``, whatever the dependence
between overlapping windows. The significant windows that contain no smaller significant window
are merged into spans, trimmed to start and end on a token with positive score.
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
    values: npt.NDArray[np.float64], pvalue: PValueFn, *, alpha: float, min_window: int = 32
) -> ScanResult:
    """Scan the scores of the scored positions, in text order.

    Args:
        values: ``(n,)`` per-token scores of the scored positions only.
        pvalue: the scheme's exact tail ``pvalue(score_sum, tokens)``.
        alpha: spans are reported where the adjusted p-value is ``<= alpha``.
        min_window: smallest window, in scored tokens.

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
    if n < 2 * min_window or not widths:
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
    adjusted = np.minimum(1.0, pvalue(sums, widths_arr) * starts.size)
    spans = _merge(values, csum, starts, widths_arr, adjusted, alpha)
    return ScanResult(int(starts.size), float(adjusted.min()), spans)


def _merge(
    values: npt.NDArray[np.float64],
    csum: npt.NDArray[np.float64],
    starts: npt.NDArray[np.int64],
    widths: npt.NDArray[np.int64],
    adjusted: npt.NDArray[np.float64],
    alpha: float,
) -> tuple[TokenSpan, ...]:
    hits = np.flatnonzero(adjusted <= alpha)
    if hits.size == 0:
        return ()
    # A long window is significant whenever a short marked passage lies inside it; keep only
    # significant windows that contain no smaller significant window, so spans stay tight.
    hs, he, hw = starts[hits], starts[hits] + widths[hits], widths[hits]
    contains = (hs[:, None] <= hs[None, :]) & (he[None, :] <= he[:, None]) & (hw[:, None] > hw[None, :])
    hits = hits[~contains.any(axis=1)]
    order = hits[np.argsort(starts[hits], kind="stable")]
    spans: list[TokenSpan] = []
    cur_first, cur_end, cur_p = (
        int(starts[order[0]]),
        int(starts[order[0]] + widths[order[0]]),
        float(adjusted[order[0]]),
    )
    for i in order[1:]:
        s, e = int(starts[i]), int(starts[i] + widths[i])
        if s <= cur_end:
            cur_end, cur_p = max(cur_end, e), min(cur_p, float(adjusted[i]))
        else:
            spans.append(_trimmed(values, csum, cur_first, cur_end, cur_p))
            cur_first, cur_end, cur_p = s, e, float(adjusted[i])
    spans.append(_trimmed(values, csum, cur_first, cur_end, cur_p))
    return tuple(spans)


def _trimmed(
    values: npt.NDArray[np.float64], csum: npt.NDArray[np.float64], first: int, end: int, p: float
) -> TokenSpan:
    positive = np.flatnonzero(values[first:end] > 0)
    last = end - 1
    if positive.size:
        first, last = first + int(positive[0]), first + int(positive[-1])
    return TokenSpan(first, last, last - first + 1, float(csum[last + 1] - csum[first]), p)
