"""Tokenizer-independent statistics of one text under two language models, and their combination.

The embedded model (SmolLM2, 49 k vocabulary) and the second model (Gemma 3 270M, 262 k) split
text into different tokens, so their per-token values cannot be compared. What both define is
the probability of the *same characters*: for a character span (the scored tokens ``start:stop``
of the embedded model), each model's log-likelihood, entropy and Fast-DetectGPT discrepancy are
summed over its own tokens that lie inside the span and divided by the span's length in
characters. A reference may give the second model a *window*: it then reads only the characters of
the embedded model's first ``window`` scored tokens (less work on long texts), and its terms are
over the part of the span inside that window, or for a span past it over the window's last tokens
(:func:`second_range`), per character of what it read. The shipped reference has none: a
128-token window cut the pair's cost on long texts by a quarter but lowered the detection figures
(the window trial in ``docs/figures.md``). From those:

- ``ll_*``: log-likelihood per character (higher: more predictable, more machine-like);
- ``neg_entropy_*``: minus the expected surprise per character;
- ``fdg_*``: the analytic Fast-DetectGPT criterion per token, ``(sum ll - sum mu) / sqrt(sum var)
  / sqrt(n)`` (length-free, so one weight fits every bucket);
- ``bino_*``: Binoculars-style contrasts, log-likelihood per character of one model divided by
  the *other* model's entropy per character (and by its own); the real Binoculars needs one
  vocabulary for a cross-perplexity, per character both models speak the same unit.

A :class:`Combination` is a fixed linear map of those features: one statistic, monotone in its
score, whose conformal p-value is computed exactly like the single-model log-likelihood's
(:mod:`detect.calibration`). The shipped one is ``ll_first + c2 * entropy_second + c1 *
entropy_first``: how predictable the characters are to the embedded model, offset by how
unpredictable the second model (and the embedded model) expects them to be, the Binoculars idea
without a shared vocabulary. Its two weights are fitted by :func:`fit_combination` on a part of
the calibration half held apart from the human reference, so the reference stays exchangeable
with new human text; the objective is the machine texts caught where the *worst* human domain
is at a 2 % false-positive rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .features import TokenScores, score_tokens

if TYPE_CHECKING:
    from watermark.text.model import LanguageModel

__all__ = [
    "CROSS_FEATURES",
    "SURPRISE_CAP",
    "Combination",
    "ScoredText",
    "family_weights",
    "fit_combination",
    "floored",
    "score_texts",
    "second_range",
    "span_features",
    "with_second",
    "worst_group_tpr",
]

CROSS_FEATURES = (
    "ll_first",
    "ll_second",
    "neg_entropy_first",
    "neg_entropy_second",
    "fdg_first",
    "fdg_second",
    "bino_first_by_second",
    "bino_second_by_first",
    "bino_first",
    "bino_second",
)

FloatArray = npt.NDArray[np.float64]

# The floor on the embedded model's per-token log-likelihood (nats) in the statistic, recorded in
# the references built with it (``surprise_cap``; older references have none and keep their
# meaning): a word that letter edits left broken costs the statistic at most this much per
# token. Measured over 20 reference draws (``eval/surprise_cap.py``): 8 keeps the clean catch
# rate and the false-positive rate and more than doubles the catch rate under 3 % letter edits;
# lower floors trade the clean catch rate away.
SURPRISE_CAP = 8.0


@dataclass(frozen=True)
class ScoredText:
    """A text's token scores under the embedded model and, where used, the second model."""

    first: TokenScores
    second: TokenScores | None = None

    @property
    def tokens(self) -> int:
        """Scored tokens of the embedded model (what lengths and buckets count)."""
        return len(self.first.log_likelihood)


def score_texts(
    first: LanguageModel,
    texts: Sequence[str],
    *,
    max_tokens: int,
    second: LanguageModel | None = None,
    vocabulary: npt.NDArray[np.int64] | None = None,
    window: int | None = None,
    progress: bool = False,
) -> list[ScoredText]:
    """Scores of each text under the embedded model (its first ``max_tokens`` tokens) and, with a
    ``second`` model, under that model for the same characters (see :func:`with_second`)."""
    scored = [ScoredText(s) for s in score_tokens(first, texts, max_tokens=max_tokens, progress=progress)]
    if second is None:
        return scored
    return with_second(
        second, texts, scored, max_tokens=max_tokens, vocabulary=vocabulary, window=window, progress=progress
    )


def with_second(
    second: LanguageModel,
    texts: Sequence[str],
    scored: Sequence[ScoredText],
    *,
    max_tokens: int,
    vocabulary: npt.NDArray[np.int64] | None = None,
    window: int | None = None,
    progress: bool = False,
) -> list[ScoredText]:
    """``scored`` (the embedded model's scores of ``texts``) with the second model's scores of the
    same characters added: each text cut where the embedded model's scored tokens end, or with a
    ``window`` where its first ``window`` scored tokens end (see :func:`span_features`);
    ``vocabulary`` restricts the second model's next-token distribution."""
    cut = [
        t[: int(s.first.offsets[_reach(s, window) - 1, 1])] if s.tokens else ""
        for t, s in zip(texts, scored, strict=True)
    ]
    # Per character the second model needs fewer tokens than the embedded one; twice as many is
    # a bound that never cuts the span short.
    other = score_tokens(second, cut, max_tokens=2 * max_tokens, vocabulary=vocabulary, ranks=False, progress=progress)
    return [ScoredText(s.first, b) for s, b in zip(scored, other, strict=True)]


@dataclass(frozen=True)
class _Sums:
    ll: float
    entropy: float
    mu: float
    var: float
    n: int


def floored(log_likelihood: FloatArray, cap: float | None) -> FloatArray:
    """Per-token log-likelihoods floored at ``-cap`` (:data:`SURPRISE_CAP`); as they are without one."""
    return log_likelihood if cap is None else np.maximum(log_likelihood, -cap)


def _sums(scores: TokenScores, sl: slice | npt.NDArray[np.bool_], cap: float | None = None) -> _Sums:
    ll = floored(scores.log_likelihood[sl], cap)
    entropy, mu, var = (float(a[sl].sum()) for a in (scores.entropy, scores.mean, scores.variance))
    return _Sums(float(ll.sum()), entropy, mu, var, len(ll))


def _fdg(s: _Sums) -> float:
    if s.n == 0:
        return 0.0
    return (s.ll - s.mu) / math.sqrt(max(s.var, 1e-12)) / math.sqrt(s.n)


def _reach(text: ScoredText, window: int | None) -> int:
    """Embedded-model tokens whose characters the second model reads."""
    return text.tokens if window is None else min(window, text.tokens)


def second_range(start: int, stop: int, window: int | None) -> tuple[int, int]:
    """The embedded model's tokens whose characters the second model's terms cover, for the span
    ``start:stop`` when the second model reads only the characters of the first ``window`` tokens:
    the span clipped to the window, or, for a span that starts past it, the window's last
    ``stop - start`` tokens (the second model's view of the text's style, measured where it read)."""
    if window is None or stop <= window:
        return start, stop
    if start < window:
        return start, window
    return max(0, window - (stop - start)), window


def span_features(
    text: ScoredText, start: int, stop: int, window: int | None = None, surprise_cap: float | None = None
) -> FloatArray:
    """The features (``CROSS_FEATURES`` order) of the embedded model's scored tokens ``start:stop``;
    the second model's terms are over the tokens :func:`second_range` gives (all of the span when
    ``window`` is ``None``), per character of those tokens; with a ``surprise_cap`` the embedded
    model's per-token log-likelihood is floored at ``-surprise_cap`` first (:data:`SURPRISE_CAP`).

    Raises:
        ValueError: the text has no second-model scores, or the range is empty.
    """
    if text.second is None:
        raise ValueError("cross-model features need the second model's scores")
    stop = min(stop, text.tokens)
    if stop <= start:
        raise ValueError(f"empty token range {start}:{stop}")
    offsets = text.first.offsets
    a, b = int(offsets[start, 0]), int(offsets[stop - 1, 1])
    chars = max(b - a, 1)
    first = _sums(text.first, slice(start, stop), surprise_cap)
    s2, e2 = second_range(start, stop, window)
    a2, b2 = int(offsets[s2, 0]), int(offsets[e2 - 1, 1])
    chars2 = max(b2 - a2, 1)
    so = text.second.offsets
    second = _sums(text.second, (so[:, 0] >= a2) & (so[:, 1] <= b2))
    ll1, ll2 = first.ll / chars, second.ll / chars2
    h1, h2 = max(first.entropy / chars, 1e-6), max(second.entropy / chars2, 1e-6)
    return np.array(
        [ll1, ll2, -h1, -h2, _fdg(first), _fdg(second), ll1 / h2, ll2 / h1, ll1 / h1, ll2 / h2], dtype=np.float64
    )


@dataclass(frozen=True)
class Combination:
    """``score = sum(weights * (features - mean) / scale)``: higher is more machine-like."""

    features: tuple[str, ...]
    mean: FloatArray
    scale: FloatArray
    weights: FloatArray

    def score(self, x: FloatArray) -> float:
        """The combined statistic of one feature vector."""
        return float(np.dot(self.weights, (x - self.mean) / self.scale))

    def to_dict(self) -> dict[str, list[float] | list[str]]:
        """Plain JSON-ready fields."""
        return {
            "features": list(self.features),
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
            "weights": [float(v) for v in self.weights],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Sequence[float] | Sequence[str]]) -> Combination:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: unknown features or mismatched lengths.
        """
        features = tuple(str(f) for f in raw["features"])
        if features != CROSS_FEATURES:
            raise ValueError(f"combination features {features} are not {CROSS_FEATURES}")
        arrays = [np.asarray(raw[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
        if any(a.shape != (len(features),) for a in arrays) or (arrays[1] <= 0).any():
            raise ValueError("combination mean/scale/weights must match the features, scale > 0")
        return cls(features, arrays[0], arrays[1], arrays[2])


# The family the weights are fitted in: log-likelihood per character under the embedded model,
# offset by the expected surprise per character of the second model (``c2``) and of the embedded
# model itself (``c1``). Ten free weights over ~250 human texts overfit the tail (measured on a
# split of the calibration half: a 10-dimensional search fell from 0.50 to 0.21-0.26 mean TPR on
# the other half, logistic regression held ~0.30 but optimises the wrong end of the curve); two
# along a grid do not.
_C2 = tuple(i / 8 for i in range(11))  # 0 .. 1.25
_C1 = tuple(i / 8 for i in range(-4, 5))  # -0.5 .. 0.5
TAIL = 0.02


def family_weights(c2: float, c1: float) -> FloatArray:
    """Raw weights of ``ll_first + c2 * entropy_second + c1 * entropy_first`` (per character)."""
    w = np.zeros(len(CROSS_FEATURES))
    w[CROSS_FEATURES.index("ll_first")] = 1.0
    w[CROSS_FEATURES.index("neg_entropy_second")] = -c2
    w[CROSS_FEATURES.index("neg_entropy_first")] = -c1
    return w


def worst_group_tpr(scores: FloatArray, y: npt.NDArray[np.int64], groups: Sequence[str], tail: float = TAIL) -> float:
    """Mean true-positive rate over the machine groups at the threshold where the *worst* human
    group flags ``tail`` of its texts: the objective that keeps every domain's false-positive
    rate in check, not only the pooled one."""
    g = np.asarray(groups)
    human = [scores[(y == 0) & (g == k)] for k in sorted(set(g[y == 0]))]
    t = max(float(np.quantile(h, 1 - tail)) for h in human)
    return float(np.mean([np.mean(scores[(y == 1) & (g == k)] > t) for k in sorted(set(g[y == 1]))]))


def fit_combination(X: FloatArray, y: npt.NDArray[np.int64], groups: Sequence[str]) -> Combination:
    """The weights of the family above that maximise :func:`worst_group_tpr` on rows ``X``
    (``CROSS_FEATURES`` columns) labelled ``y`` (1 = machine) from ``groups`` (a human text's
    domain, a machine text's source); ties go to the smaller offsets.

    Raises:
        ValueError: no human or no machine rows.
    """
    if not (y == 0).any() or not (y == 1).any():
        raise ValueError("fitting needs human and machine rows")
    best: tuple[float, float, float] | None = None
    for c2 in _C2:
        for c1 in _C1:
            value = worst_group_tpr(X @ family_weights(c2, c1), y, groups)
            if best is None or value > best[0] + 1e-12:
                best = (value, c2, c1)
    assert best is not None
    n = len(CROSS_FEATURES)
    return Combination(CROSS_FEATURES, np.zeros(n), np.ones(n), family_weights(best[1], best[2]))
