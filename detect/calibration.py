"""Conformal p-values of a zero-shot statistic against a human reference set, per length bucket.

Two statistics exist. ``log_likelihood``: the mean log-likelihood per token under the embedded
model. ``cross_model``: a fixed linear combination of tokenizer-independent statistics of the same
characters under the embedded and the second model (:mod:`detect.cross_model`); the reference
file carries its weights, the second model's scoring vocabulary and how much of the text that
model reads (its window), so a reference is always applied with the statistic it was built with.
Its ``spelling`` names the spelling restoration its texts were scored after
(:mod:`detect.spelling`; ``None`` in references written before it, which keep their meaning): a
text is restored exactly when its reference was. Its ``surprise_cap`` (``None`` in references
written before it) floors the embedded model's per-token log-likelihood before the statistic
sums it (:data:`detect.cross_model.SURPRISE_CAP`).

For a text of ``n`` scored tokens (of the embedded model) the bucket is the largest ``b`` in
``BUCKETS`` (every 16 tokens up to 256) with ``b <= n`` and enough references; the statistic is
computed on the text's tokens ``skip:b``, where ``skip = min(context, b // 4)`` leaves out the first tokens (16 by
default), which the model predicts with almost no context; the reference holds the same statistic
for every human text of at least ``b`` tokens. Like is compared with like: log-likelihood per
token rises with context, so a full-length mean compared with human prefixes would be biased
upward (measured: 4 % realised FPR at a nominal 1 % before this rule). Buckets every 16 tokens use
nearly all of a text (with powers of two a 250-token text was judged on its first 128). The
p-value of a score ``s`` is ``(1 + #{human >= s}) / (N + 1)``: valid (never below its nominal
level) for any text drawn like the references. The standardised score ``(s - mean) / sd`` of the
same reference ranks texts of different lengths on one scale (for ROC curves; it decides nothing).

Passages inside a text (spans) are compared with human 64-token *windows that start after the
first 64 tokens* (they have context, as such passages do); the first passage uses the prefix
reference.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from watermark.errors import ConfigurationError

from .cross_model import Combination, ScoredText, floored, span_features

__all__ = ["BUCKETS", "CONTEXT", "MIN_REFERENCE", "WINDOW", "HumanReference", "build_reference"]

BUCKETS = tuple(range(16, 257, 16))
# Leading tokens left out of the statistic (at most a quarter of the bucket); 0 in reference
# files written before the rule, which keep their meaning.
CONTEXT = 16
# A bucket needs this many human texts before it is used: with n references the smallest p-value
# is 1 / (n + 1), so fewer than ~100 could never reach a 1 % decision. Shorter buckets take over.
MIN_REFERENCE = 100
WINDOW = 64


@dataclass(frozen=True)
class ConformalResult:
    """A conformal p-value and what it rests on."""

    p_value: float
    bucket: int
    reference_size: int
    standardized: float  # (score - reference mean) / reference sd


def _conformal(ref: npt.NDArray[np.float64], score: float, bucket: int) -> ConformalResult:
    at_least = len(ref) - int(np.searchsorted(ref, score, side="left"))
    z = (score - float(ref.mean())) / max(float(ref.std()), 1e-12)
    return ConformalResult((1 + at_least) / (len(ref) + 1), bucket, len(ref), z)


def skipped(bucket: int, context: int) -> int:
    """Leading tokens left out of a ``bucket``-token statistic."""
    return min(context, bucket // 4)


@dataclass(frozen=True)
class HumanReference:
    """Sorted human scores per bucket for one statistic of one model (or pair of models)."""

    model: str
    statistic_name: str
    scores: Mapping[int, npt.NDArray[np.float64]]
    sources: Mapping[str, int] = field(default_factory=dict)
    min_size: int = MIN_REFERENCE
    windows: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    context: int = CONTEXT
    # cross_model only: the weights, the second model's name, the token ids it is scored over and
    # how many of the embedded model's tokens it reads (None: all; references written before the
    # window, which keep their meaning).
    combination: Combination | None = None
    second_model: str | None = None
    second_vocabulary: npt.NDArray[np.int64] | None = None
    second_window: int | None = None
    spelling: str | None = None  # the restoration the texts were scored after (detect.spelling.SPELLING)
    surprise_cap: float | None = None  # floor of the embedded model's per-token log-likelihood, nats

    def bucket_for(self, tokens: int) -> int | None:
        """The bucket a text of ``tokens`` scored tokens is compared in (``None``: too short)."""
        fitting = [b for b in BUCKETS if b <= tokens and len(self.scores.get(b, ())) >= self.min_size]
        return max(fitting) if fitting else None

    def value(self, text: ScoredText, start: int, stop: int) -> float:
        """The statistic on the embedded model's scored tokens ``start:stop`` of a text."""
        if self.combination is None:
            return float(np.mean(floored(text.first.log_likelihood[start:stop], self.surprise_cap)))
        return self.combination.score(span_features(text, start, stop, self.second_window, self.surprise_cap))

    def statistic(self, text: ScoredText, bucket: int) -> float:
        """The ``bucket``-token statistic of a text (see module docstring)."""
        return self.value(text, skipped(bucket, self.context), bucket)

    def p_value(self, score: float, bucket: int) -> ConformalResult:
        """Conformal p-value of a ``bucket``-token statistic ``score``."""
        return _conformal(self.scores[bucket], score, bucket)

    def p_value_of(self, text: ScoredText) -> tuple[float, ConformalResult] | None:
        """The statistic of a scored text and its p-value (``None``: too short)."""
        bucket = self.bucket_for(text.tokens)
        if bucket is None:
            return None
        score = self.statistic(text, bucket)
        return score, self.p_value(score, bucket)

    def window_p_value(self, score: float) -> ConformalResult | None:
        """Conformal p-value of a 64-token passage that starts after the text's first 64 tokens."""
        if len(self.windows) < self.min_size:
            return None
        return _conformal(self.windows, score, WINDOW)

    def to_json(self) -> str:
        """Serialise (plain JSON; no pickle)."""
        return json.dumps(self.to_dict())

    def to_dict(self) -> dict[str, object]:
        """The JSON object :meth:`to_json` writes."""
        raw: dict[str, object] = {
            "model": self.model,
            "statistic": self.statistic_name,
            "context": self.context,
            "sources": dict(self.sources),
            "buckets": {str(b): [round(float(x), 6) for x in v] for b, v in self.scores.items()},
            "windows": [round(float(x), 6) for x in self.windows],
        }
        if self.spelling is not None:
            raw["spelling"] = self.spelling
        if self.surprise_cap is not None:
            raw["surprise_cap"] = self.surprise_cap
        if self.combination is not None:
            raw["combination"] = self.combination.to_dict()
            vocabulary = self.second_vocabulary
            raw["second_model"] = {
                "name": self.second_model,
                "vocabulary": [int(i) for i in vocabulary] if vocabulary is not None else None,
                "window": self.second_window,
            }
        return raw

    @classmethod
    def from_json(cls, text: str) -> HumanReference:
        """Load a reference written by :meth:`to_json`.

        Raises:
            ConfigurationError: the file is not a valid reference.
        """
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ConfigurationError(f"not a valid human reference file: {exc}") from None
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Any) -> HumanReference:
        """Load a reference from the JSON object :meth:`to_dict` gives.

        Raises:
            ConfigurationError: not a valid reference.
        """
        try:
            scores = {int(b): np.sort(np.asarray(v, dtype=np.float64)) for b, v in raw["buckets"].items()}
            windows = np.sort(np.asarray(raw.get("windows", []), dtype=np.float64))
            context = int(raw.get("context", 0))
            if context < 0:
                raise ValueError("context must be >= 0")
            cap = float(raw["surprise_cap"]) if raw.get("surprise_cap") is not None else None
            if cap is not None and not cap > 0:
                raise ValueError("surprise_cap must be > 0")
            combination = second = vocabulary = window = None
            if "combination" in raw:
                combination = Combination.from_dict(raw["combination"])
                second = str(raw["second_model"]["name"])
                ids = raw["second_model"].get("vocabulary")
                vocabulary = np.asarray(ids, dtype=np.int64) if ids is not None else None
                if raw["second_model"].get("window") is not None:
                    window = int(raw["second_model"]["window"])
                    if window < WINDOW:
                        raise ValueError(f"the second model's window must be >= {WINDOW} tokens")
            return cls(
                str(raw["model"]),
                str(raw["statistic"]),
                scores,
                dict(raw.get("sources", {})),
                windows=windows,
                context=context,
                combination=combination,
                second_model=second,
                second_vocabulary=vocabulary,
                second_window=window,
                spelling=str(raw["spelling"]) if raw.get("spelling") is not None else None,
                surprise_cap=cap,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(f"not a valid human reference file: {exc}") from None


def build_reference(
    model: str,
    human: Sequence[ScoredText],
    sources: Mapping[str, int] | None = None,
    *,
    combination: Combination | None = None,
    second_model: str | None = None,
    second_vocabulary: npt.NDArray[np.int64] | None = None,
    second_window: int | None = None,
    spelling: str | None = None,
    surprise_cap: float | None = None,
) -> HumanReference:
    """A reference from scored human texts: every bucket a text is long enough for, and its
    64-token passages after the first 64 tokens. With a ``combination`` the statistic is
    ``cross_model`` (the texts need the second model's scores), else ``log_likelihood``;
    ``spelling`` names the restoration the texts were scored after; ``surprise_cap`` floors the
    embedded model's per-token log-likelihood in the statistic."""
    empty = HumanReference(
        model,
        "log_likelihood" if combination is None else "cross_model",
        {},
        dict(sources or {}),
        combination=combination,
        second_model=second_model,
        second_vocabulary=second_vocabulary,
        second_window=second_window,
        spelling=spelling,
        surprise_cap=surprise_cap,
    )
    per: dict[int, list[float]] = {b: [] for b in BUCKETS}
    windows: list[float] = []
    for t in human:
        for b in BUCKETS:
            if t.tokens >= b:
                per[b].append(empty.statistic(t, b))
        windows += [empty.value(t, i, i + WINDOW) for i in range(WINDOW, t.tokens - WINDOW + 1, WINDOW)]
    return dataclasses.replace(
        empty,
        scores={b: np.sort(np.asarray(v)) for b, v in per.items() if v},
        windows=np.sort(np.asarray(windows, dtype=np.float64)),
    )
