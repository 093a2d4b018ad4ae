"""Unigram watermark (Zhao et al., ICLR 2024): one fixed, keyed green list, no context (h = 0).

Token ``v`` is green when the keyed word ``T[v]`` (keyed BLAKE2b, see :mod:`watermark.text.prf`)
is below ``round(gamma * 2**32)``; generation adds ``delta`` to green logits. With no context, no
edit can change another token's colour, so substitutions, insertions, deletions and the emoji
attack (insert a token between words, then delete it) only remove the evidence they touch.

Detection scores each **distinct token** once: under "not marked with this key" the colours of
distinct tokens are independent with probability ``gamma_eff`` each, so the green count of ``n``
distinct tokens is Binomial(n, gamma_eff) and its tail is the exact p-value. Scoring repeats
would break that (a human text repeating one green word would look marked).

Known weakness: the list is the same everywhere, so enough marked text reveals it (token
frequencies in marked text against ordinary text); an attacker who learns it can avoid green
tokens or forge the mark. Rotate keys, and prefer ``kgw`` where forging matters more than edits.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import LogitsProcessor

from watermark.errors import ConfigurationError
from watermark.keys import WatermarkKey
from watermark.text.prf import keyed_token_table, unsigned_less
from watermark.text.scheme import (
    BatchScores,
    GreenListScheme,
    IntArray,
    PositionScores,
    parse_params,
    register_scheme,
)

__all__ = ["UnigramScheme"]

_ONE = 1 << 32
DEFAULTS: dict[str, Any] = {"gamma": 0.25, "delta": 2.0}


@register_scheme
class UnigramScheme(GreenListScheme):
    """One keyed green list for every position (scheme name ``"unigram"``)."""

    name: ClassVar[str] = "unigram"

    def __init__(self, key: WatermarkKey, *, vocab_size: int) -> None:
        super().__init__(key, vocab_size=vocab_size)
        merged = parse_params(key, DEFAULTS, {"gamma": (float, int), "delta": (float, int)})
        self.gamma = float(merged["gamma"])
        self.delta = float(merged["delta"])
        if not 0.0 < self.gamma < 1.0:
            raise ConfigurationError(f"key {key.key_id!r}: `gamma` has to be in (0, 1), but is {self.gamma}")
        if not 0.0 < self.delta <= 20.0:
            raise ConfigurationError(f"key {key.key_id!r}: `delta` has to be in (0, 20], but is {self.delta}")
        self.threshold = round(self.gamma * _ONE)
        self.gamma_eff = self.z_gamma = self.threshold / _ONE
        self._green: torch.Tensor | None = None
        self._lock = threading.Lock()

    def parameters(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "delta": self.delta}

    def green_list(self) -> torch.Tensor:
        """``(vocab_size,)`` bool: the green tokens of this key."""
        with self._lock:
            if self._green is None:
                words = keyed_token_table(self.key.secret.reveal(), b"assay.unigram.v1.green", self.vocab_size)
                self._green = unsigned_less(words, self.threshold)
            return self._green

    def logits_processor(self) -> LogitsProcessor:
        return UnigramLogitsProcessor(self)

    def score_tokens(self, ids: Sequence[int] | IntArray, *, skip_ids: frozenset[int] = frozenset()) -> PositionScores:
        arr = self._check_ids(ids)
        scored = np.zeros(arr.size, dtype=np.bool_)
        values = np.zeros(arr.size, dtype=np.float64)
        ok = np.ones(arr.size, dtype=np.bool_)
        if skip_ids:
            ok = ~np.isin(arr, np.fromiter(skip_ids, dtype=np.int64))
        idx = np.flatnonzero(ok)
        _, first = np.unique(arr[idx], return_index=True)
        keep = idx[first]
        scored[keep] = True
        values[keep] = self.green_list().numpy()[arr[keep]]
        return PositionScores(scored, values)

    def score_batch(
        self, batch: Sequence[Sequence[int] | IntArray], *, skip_ids: frozenset[int] = frozenset()
    ) -> BatchScores:
        green = self.green_list().numpy()
        skip = np.fromiter(skip_ids, dtype=np.int64) if skip_ids else np.zeros(0, np.int64)
        n = np.zeros(len(batch), dtype=np.int64)
        s = np.zeros(len(batch), dtype=np.float64)
        for i, ids in enumerate(batch):
            distinct = np.unique(self._check_ids(ids))
            distinct = distinct[~np.isin(distinct, skip)]
            n[i] = distinct.size
            s[i] = float(green[distinct].sum())
        return BatchScores(n, s)


class UnigramLogitsProcessor(LogitsProcessor):
    """Adds ``delta`` to the logits of the fixed green list."""

    def __init__(self, scheme: UnigramScheme) -> None:
        self.scheme = scheme

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """Args: input_ids ``(B, L)``; scores ``(B, V)``. Returns biased scores ``(B, V)``."""
        green = self.scheme.green_list().to(scores.device)
        width = scores.shape[-1]
        if width > green.shape[0]:
            raise ValueError(f"model has {width} logits but the scheme was bound to {green.shape[0]} tokens")
        out: torch.FloatTensor = scores + self.scheme.delta * green[:width].to(scores.dtype)  # type: ignore[assignment]
        return out
