"""The interface every text watermark scheme implements, and the scheme registry.

A scheme is bound to one key. It supplies a ``transformers`` logits processor for generation and,
for detection, a per-token score for each position of a token sequence, with an exact tail
probability for the sum of those scores under the null hypothesis "this text was not marked with
this key". Everything else (multi-key correction, windowed scans, spans, decisions) is generic and
lives in :mod:`watermark.text.detector`, so a new scheme is one new module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from transformers import LogitsProcessor, LogitsProcessorList

from watermark.errors import ConfigurationError
from watermark.keys import WatermarkKey
from watermark.text.stats import binomial_pvalue, binomial_zscore

__all__ = [
    "BatchScores",
    "GreenListScheme",
    "PositionScores",
    "TextScheme",
    "parse_params",
    "register_scheme",
    "scheme_for_key",
    "scheme_names",
]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PositionScores:
    """Per-position evidence of one token sequence under one key.

    Attributes:
        scored: ``(L,)`` True where the position counts: it has a full context, its token is
            not special, and its (PRF input) was not seen earlier in the sequence.
        values: ``(L,)`` per-position score (for KGW 1.0 green, 0.0 red); 0 where not scored.
        trials: ``(L,)`` how many independent null trials each position holds, for schemes
            whose positions hold a varying number (SynthID: the fresh table reads of a token);
            ``None``: one per scored position. ``pvalue`` then takes trial counts as ``tokens``.
    """

    scored: BoolArray
    values: FloatArray
    trials: FloatArray | None = None

    def trial_counts(self) -> FloatArray:
        """``(L,)`` trials per position (0 where not scored)."""
        if self.trials is None:
            return self.scored.astype(np.float64)
        return np.where(self.scored, self.trials, 0.0)


@dataclass(frozen=True)
class BatchScores:
    """Sufficient statistics of many sequences: ``(N,)`` scored counts (trials, where a scheme
    counts those) and score sums."""

    tokens_scored: IntArray
    score_sum: FloatArray


class TextScheme(ABC):
    """A text watermark scheme bound to one key and one vocabulary size."""

    name: ClassVar[str]

    def __init__(self, key: WatermarkKey, *, vocab_size: int) -> None:
        if key.scheme != self.name:
            raise ConfigurationError(f"key {key.key_id!r} is for scheme {key.scheme!r}, not {self.name!r}")
        if not (isinstance(vocab_size, int) and vocab_size > 1):
            raise ValueError(f"`vocab_size` has to be an int > 1, but is {vocab_size!r}")
        self.key = key
        self.vocab_size = vocab_size

    @property
    def key_id(self) -> str:
        """The id of the key this scheme is bound to."""
        return self.key.key_id

    @abstractmethod
    def parameters(self) -> dict[str, Any]:
        """Public parameters (never the secret), as reported with every result."""

    @abstractmethod
    def logits_processor(self) -> LogitsProcessor:
        """A processor for ``model.generate`` that embeds this key's watermark."""

    def generation_kwargs(self, *, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0) -> dict[str, Any]:
        """Keyword arguments for ``model.generate`` that embed this watermark.

        The sampling settings are given for schemes that do the sampling themselves (``gumbel``);
        keys returned here override the wrapper's own sampling arguments.
        """
        return {"logits_processor": LogitsProcessorList([self.logits_processor()])}

    @abstractmethod
    def score_tokens(self, ids: Sequence[int] | IntArray, *, skip_ids: frozenset[int] = frozenset()) -> PositionScores:
        """Score every position of one token sequence.

        Args:
            ids: ``(L,)`` token ids of the text (no prompt).
            skip_ids: special token ids that are never scored.
        """

    @property
    @abstractmethod
    def null_mean(self) -> float:
        """Expected per-token score of text not marked with this key."""

    @abstractmethod
    def pvalue(self, score_sum: npt.ArrayLike, tokens: npt.ArrayLike) -> FloatArray:
        """Exact ``P(S >= score_sum)`` for the sum of ``tokens`` scores (trials) under the null."""

    @abstractmethod
    def zscore(self, score_sum: npt.ArrayLike, tokens: npt.ArrayLike) -> FloatArray:
        """Standardised score (same sign rule: larger means more likely watermarked)."""

    def score_batch(
        self, batch: Sequence[Sequence[int] | IntArray], *, skip_ids: frozenset[int] = frozenset()
    ) -> BatchScores:
        """Sufficient statistics of many sequences; schemes override this with a vectorised path."""
        n = np.zeros(len(batch), dtype=np.int64)
        s = np.zeros(len(batch), dtype=np.float64)
        for i, ids in enumerate(batch):
            ps = self.score_tokens(ids, skip_ids=skip_ids)
            n[i] = int(ps.trial_counts().sum())
            s[i] = float(ps.values[ps.scored].sum())
        return BatchScores(n, s)

    def _check_ids(self, ids: Sequence[int] | IntArray) -> IntArray:
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size})")
        return arr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key_id={self.key_id!r}, {self.parameters()!r})"


_REGISTRY: dict[str, type[TextScheme]] = {}


def register_scheme(cls: type[TextScheme]) -> type[TextScheme]:
    """Class decorator: make a scheme available to key rings under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def scheme_names() -> list[str]:
    """Names of every registered text scheme."""
    return sorted(_REGISTRY)


def scheme_for_key(key: WatermarkKey, *, vocab_size: int) -> TextScheme:
    """Bind a key to its scheme.

    Raises:
        ConfigurationError: the scheme is unknown or the key's parameters are invalid.
    """
    cls = _REGISTRY.get(key.scheme)
    if cls is None:
        raise ConfigurationError(
            f"key {key.key_id!r}: unknown text scheme {key.scheme!r} (known: {', '.join(scheme_names())})"
        )
    return cls(key, vocab_size=vocab_size)


def parse_params(
    key: WatermarkKey, defaults: Mapping[str, Any], allowed: Mapping[str, type | tuple[type, ...]]
) -> dict[str, Any]:
    """The key's parameters merged over ``defaults``; unknown names and wrong types are rejected.

    Raises:
        ConfigurationError: naming the key and the parameter.
    """
    params = dict(key.params)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigurationError(
            f"key {key.key_id!r}: unknown parameter(s) {', '.join(unknown)} for scheme {key.scheme!r}"
        )
    for name, value in params.items():
        types = allowed[name]
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise ConfigurationError(f"key {key.key_id!r}: `{name}` has the wrong type")
        if not isinstance(value, types):
            raise ConfigurationError(f"key {key.key_id!r}: `{name}` has the wrong type")
    return {**defaults, **params}


class GreenListScheme(TextScheme):
    """A scheme whose per-token score is a green bit, green with probability ``gamma_eff`` under
    the null: the sum over distinct PRF inputs is Binomial, with an exact tail."""

    gamma_eff: float
    z_gamma: float  # the ratio the z-score standardises with (normally gamma_eff)

    @property
    def null_mean(self) -> float:
        return self.gamma_eff

    def pvalue(self, score_sum: npt.ArrayLike, tokens: npt.ArrayLike) -> FloatArray:
        return binomial_pvalue(score_sum, tokens, self.gamma_eff)

    def zscore(self, score_sum: npt.ArrayLike, tokens: npt.ArrayLike) -> FloatArray:
        return binomial_zscore(score_sum, tokens, self.z_gamma)
