"""Exact test statistics for token-level watermark evidence."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = ["binomial_pvalue", "binomial_zscore", "bonferroni"]

FloatArray = npt.NDArray[np.float64]


def binomial_pvalue(successes: npt.ArrayLike, trials: npt.ArrayLike, p: float) -> FloatArray:
    """Exact upper tail ``P(X >= successes)`` for ``X ~ Binomial(trials, p)``.

    Args:
        successes: green counts, any shape.
        trials: numbers of scored tokens, broadcastable to ``successes``.
        p: success probability under the null hypothesis, ``0 < p < 1``.

    Returns:
        p-values in ``[0, 1]``, shape of the broadcast inputs; 1.0 where ``trials == 0``.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    out = np.asarray(stats.binom.sf(k - 1.0, n, p), dtype=np.float64)
    return np.clip(np.where(n > 0, out, 1.0), 0.0, 1.0)


def binomial_zscore(successes: npt.ArrayLike, trials: npt.ArrayLike, p: float) -> FloatArray:
    """The z-score ``(k - n p) / sqrt(n p (1 - p))`` that KGW reports (0.0 where ``n == 0``)."""
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (k - n * p) / np.sqrt(n * p * (1.0 - p))
    return np.where(n > 0, z, 0.0)


def bonferroni(p_value: float, tests: int) -> float:
    """Bonferroni-adjusted p-value ``min(1, tests * p)``; valid under any dependence."""
    if tests < 1:
        raise ValueError(f"`tests` has to be >= 1, but is {tests}")
    return float(min(1.0, p_value * tests))
