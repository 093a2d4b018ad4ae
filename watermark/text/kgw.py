"""Assay's KGW green-list watermark: keyed PRF, real context width, exact binomial test.

A candidate token ``v`` at position ``t`` is green when

    fmix32(fmix32(seed_t XOR Tv[v]) XOR Tw[v]) < round(gamma * 2**32)   (words read as unsigned)

where ``Tv`` and ``Tw`` are keyed per-token tables and ``seed_t`` comes from the ``h`` tokens
before ``t`` through a third keyed table ``Tc``: ``"minhash"`` takes ``min(Tc[x_{t-h}], ...,
Tc[x_{t-1}])`` (one edited context token changes the seed only if it held the minimum),
``"hash"`` chains all ``h`` tokens in order. The second round breaks the XOR structure that one
round leaves between pairs ``(s1, v1), (s1, v2), (s2, v1), (s2, v2)``. The candidate enters the
PRF itself, so every token has its own membership (the benefit of KGW's "selfhash") at the cost
of one vectorised pass over the vocabulary, with no rejection sampling and no ``torch.randperm``.

Under the null each distinct PRF input ``(seed, v)`` is green with probability exactly
``gamma_eff = round(gamma * 2**32) / 2**32``; repeated inputs are scored once, so the green count
of ``n`` scored tokens is ``Binomial(n, gamma_eff)`` and its tail is the exact p-value.
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
from watermark.text.prf import context_seeds, fmix32, keyed_token_table, unsigned_less
from watermark.text.scheme import (
    BatchScores,
    GreenListScheme,
    IntArray,
    PositionScores,
    parse_params,
    register_scheme,
)

__all__ = ["KGWLogitsProcessor", "KGWScheme"]

_SEEDINGS = ("minhash", "hash")
_ONE = 1 << 32
# Larger than every (seed << 32 | token) key, since token ids are < 2**31.
_SENTINEL = torch.iinfo(torch.int64).max
DEFAULTS: dict[str, Any] = {"gamma": 0.25, "delta": 2.0, "context_width": 1, "seeding": "minhash"}


@register_scheme
class KGWScheme(GreenListScheme):
    """KGW green-list watermark with a keyed PRF (scheme name ``"kgw"``)."""

    name: ClassVar[str] = "kgw"

    def __init__(self, key: WatermarkKey, *, vocab_size: int) -> None:
        super().__init__(key, vocab_size=vocab_size)
        merged = parse_params(
            key, DEFAULTS, {"gamma": (float, int), "delta": (float, int), "context_width": int, "seeding": str}
        )
        self.gamma = float(merged["gamma"])
        self.delta = float(merged["delta"])
        self.context_width = int(merged["context_width"])
        self.seeding = str(merged["seeding"])
        if not 0.0 < self.gamma < 1.0:
            raise ConfigurationError(f"key {key.key_id!r}: `gamma` has to be in (0, 1), but is {self.gamma}")
        if not 0.0 < self.delta <= 20.0:
            raise ConfigurationError(f"key {key.key_id!r}: `delta` has to be in (0, 20], but is {self.delta}")
        if not 1 <= self.context_width <= 16:
            raise ConfigurationError(
                f"key {key.key_id!r}: `context_width` has to be in [1, 16], but is {self.context_width}"
            )
        if self.seeding not in _SEEDINGS:
            raise ConfigurationError(f"key {key.key_id!r}: `seeding` has to be one of {_SEEDINGS}")
        self.threshold = round(self.gamma * _ONE)
        self.gamma_eff = self.z_gamma = self.threshold / _ONE
        self._tables: dict[tuple[str, str], torch.Tensor] = {}
        self._lock = threading.Lock()

    def parameters(self) -> dict[str, Any]:
        return {
            "gamma": self.gamma,
            "delta": self.delta,
            "context_width": self.context_width,
            "seeding": self.seeding,
        }

    # -- PRF -------------------------------------------------------------------------------

    def _table(self, which: str, device: torch.device | str = "cpu") -> torch.Tensor:
        """Keyed ``(vocab_size,)`` table ``which`` in {"ctx", "tok", "mix"}, cached per device."""
        dev = str(torch.device(device))
        with self._lock:
            table = self._tables.get((which, dev))
            if table is None:
                cpu = self._tables.get((which, "cpu"))
                if cpu is None:
                    label = f"assay.kgw.v1.{which}".encode()
                    cpu = keyed_token_table(self.key.secret.reveal(), label, self.vocab_size)
                    self._tables[(which, "cpu")] = cpu
                table = cpu.to(dev)
                self._tables[(which, dev)] = table
        return table

    def _seeds(self, ctx_words: torch.Tensor) -> torch.Tensor:
        """Seeds from ``(..., h)`` context words (oldest first) -> ``(...,)``."""
        return context_seeds(ctx_words, self.seeding)

    def _green(self, seeds: torch.Tensor, tok: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
        """Green bits from broadcastable seeds and the candidates' ``Tv`` and ``Tw`` words."""
        return unsigned_less(fmix32(fmix32(seeds ^ tok) ^ mix), self.threshold)

    def _green_at(self, seeds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self._green(seeds, self._table("tok")[targets], self._table("mix")[targets])

    def _pair_keys(self, ids: torch.Tensor) -> torch.Tensor:
        """PRF inputs ``seed << 32 | token`` for every position ``t >= h`` of ``(N, L)`` ids."""
        h = self.context_width
        seeds = self._seeds(self._table("ctx")[ids].unfold(-1, h, 1)[:, :-1, :])
        return (seeds.to(torch.int64) << 32) | ids[:, h:]

    @staticmethod
    def _split(keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (keys >> 32).to(torch.int32), keys & 0xFFFFFFFF

    # -- generation ------------------------------------------------------------------------

    def logits_processor(self) -> LogitsProcessor:
        return KGWLogitsProcessor(self)

    def green_mask(self, input_ids: torch.Tensor, width: int) -> torch.Tensor:
        """Green membership of every candidate after each row of ``(B, L)`` ids -> ``(B, width)``."""
        dev = input_ids.device
        seeds = self._seeds(self._table("ctx", dev)[input_ids[:, -self.context_width :]])
        tok, mix = self._table("tok", dev), self._table("mix", dev)
        if width > tok.shape[0]:
            raise ValueError(f"model has {width} logits but the scheme was bound to {tok.shape[0]} tokens")
        return self._green(seeds[:, None], tok[None, :width], mix[None, :width])

    # -- detection -------------------------------------------------------------------------

    def score_tokens(self, ids: Sequence[int] | IntArray, *, skip_ids: frozenset[int] = frozenset()) -> PositionScores:
        arr = self._check_ids(ids)
        length = arr.size
        scored = np.zeros(length, dtype=np.bool_)
        values = np.zeros(length, dtype=np.float64)
        h = self.context_width
        if length <= h:
            return PositionScores(scored, values)
        keys = self._pair_keys(torch.from_numpy(arr)[None, :])[0]
        green = self._green_at(*self._split(keys)).numpy()
        w = keys.numpy()
        ok = np.ones(length - h, dtype=np.bool_)
        if skip_ids:
            ok = ~np.isin(arr[h:], np.fromiter(skip_ids, dtype=np.int64))
        idx = np.flatnonzero(ok)
        _, first = np.unique(w[idx], return_index=True)
        keep = idx[first] + h
        scored[keep] = True
        values[keep] = green[keep - h]
        return PositionScores(scored, values)

    def score_batch(
        self, batch: Sequence[Sequence[int] | IntArray], *, skip_ids: frozenset[int] = frozenset()
    ) -> BatchScores:
        """Vectorised scoring of many sequences: one sort per row finds the distinct PRF inputs."""
        h = self.context_width
        arrays = [self._check_ids(ids) for ids in batch]
        lengths = np.array([a.size for a in arrays], dtype=np.int64)
        if not arrays or lengths.max() <= h:
            return BatchScores(np.zeros(len(arrays), np.int64), np.zeros(len(arrays), np.float64))
        width = int(lengths.max())
        padded = np.zeros((len(arrays), width), dtype=np.int64)
        for i, a in enumerate(arrays):
            padded[i, : a.size] = a
        ids = torch.from_numpy(padded)
        keys = self._pair_keys(ids)
        pos = torch.arange(h, width)[None, :]
        valid = pos < torch.from_numpy(lengths)[:, None]
        if skip_ids:
            valid &= ~torch.isin(ids[:, h:], torch.tensor(sorted(skip_ids), dtype=torch.int64))
        keys = torch.where(valid, keys, _SENTINEL)
        ordered = torch.sort(keys, dim=1).values
        first = torch.ones_like(ordered, dtype=torch.bool)
        first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
        first &= ordered != _SENTINEL
        seeds, targets = self._split(torch.where(first, ordered, 0))
        green = self._green_at(seeds, targets) & first
        return BatchScores(first.sum(1).numpy().astype(np.int64), green.sum(1).numpy().astype(np.float64))


class KGWLogitsProcessor(LogitsProcessor):
    """Adds ``delta`` to the logits of green candidates; one vectorised pass per step."""

    def __init__(self, scheme: KGWScheme) -> None:
        self.scheme = scheme

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """Args: input_ids ``(B, L)``; scores ``(B, V)``. Returns biased scores ``(B, V)``."""
        if input_ids.shape[-1] < self.scheme.context_width:
            return scores  # no full context yet: these positions are never scored either
        green = self.scheme.green_mask(input_ids, scores.shape[-1])
        out: torch.FloatTensor = torch.where(green, scores + self.scheme.delta, scores)  # type: ignore[assignment]
        return out
