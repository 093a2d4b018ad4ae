"""Distortion-free exponential ("Gumbel") watermark (Aaronson 2022), with an exact Gamma test.

At each step a seed from the ``context_width`` previous tokens (keyed table, chained hash or
min-hash, as in :mod:`watermark.text.kgw`) gives every candidate ``v`` a pseudo-random
``r_v in (0, 1)``; the token chosen is ``argmax_v r_v ** (1 / p_v)`` with ``p`` the model's
distribution after temperature, top-k and top-p. Over the key's randomness that choice is an
exact sample from ``p``: the marked text has the model's own output distribution.

Detection: each position whose context seed appears for the first time scores
``-log(1 - r_token)``. Under "not marked with this key" those are independent Exp(1) variables
(distinct seeds give distinct PRF inputs), so the sum over ``n`` positions is Gamma(n, 1) and its
upper tail is the exact p-value. (``r`` takes 2**32 values: the per-token law is Exp(1) truncated
at 22.9 and discretised at 2**-32, which only lowers the tail.)

Weakness, measured in ``eval/text_robustness.py``: sampling is a deterministic function of the
context and the key, so the same prompt with the same key gives the same text every time (no
diversity across requests), and a repeated context would repeat its continuation, which can lock
generation into a loop. The generator here samples normally (unmarked, from ``p``) whenever a
context seed repeats within the text -- the remedy of skipping repeated contexts; detection skips
those positions too. It does not restore diversity across requests; that needs a per-request
nonce in the seed, carried in the generation record to the detector, which Assay does not do.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import torch
from scipy import stats
from transformers import LogitsProcessor, LogitsProcessorList
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from watermark.errors import ConfigurationError, InvalidInput
from watermark.keys import WatermarkKey
from watermark.text.prf import context_seeds, fmix32, keyed_token_table
from watermark.text.scheme import (
    FloatArray,
    IntArray,
    PositionScores,
    TextScheme,
    parse_params,
    register_scheme,
)

__all__ = ["GumbelSampler", "GumbelScheme"]

_SEEDINGS = ("hash", "minhash")
DEFAULTS: dict[str, Any] = {"context_width": 2, "seeding": "hash"}


@register_scheme
class GumbelScheme(TextScheme):
    """Aaronson's exponential-minimum sampling (scheme name ``"gumbel"``)."""

    name: ClassVar[str] = "gumbel"

    def __init__(self, key: WatermarkKey, *, vocab_size: int) -> None:
        super().__init__(key, vocab_size=vocab_size)
        merged = parse_params(key, DEFAULTS, {"context_width": int, "seeding": str})
        self.context_width = int(merged["context_width"])
        self.seeding = str(merged["seeding"])
        if not 1 <= self.context_width <= 16:
            raise ConfigurationError(f"key {key.key_id!r}: `context_width` has to be in [1, 16]")
        if self.seeding not in _SEEDINGS:
            raise ConfigurationError(f"key {key.key_id!r}: `seeding` has to be one of {_SEEDINGS}")
        self._tables: dict[str, torch.Tensor] = {}
        self._lock = threading.Lock()

    def parameters(self) -> dict[str, Any]:
        return {"context_width": self.context_width, "seeding": self.seeding}

    def _table(self, which: str) -> torch.Tensor:
        with self._lock:
            table = self._tables.get(which)
            if table is None:
                label = f"assay.gumbel.v1.{which}".encode()
                table = keyed_token_table(self.key.secret.reveal(), label, self.vocab_size)
                self._tables[which] = table
        return table

    def seeds(self, contexts: torch.Tensor) -> torch.Tensor:
        """Seeds of ``(..., h)`` context token ids (oldest first) -> ``(...,)`` int32."""
        return context_seeds(self._table("ctx")[contexts], self.seeding)

    def uniforms(self, seeds: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """``r`` in (0, 1), float64, for broadcastable int32 seeds and token ids."""
        word = fmix32(fmix32(seeds ^ self._table("tok")[tokens]) ^ self._table("mix")[tokens])
        return ((word.to(torch.int64) & 0xFFFFFFFF).to(torch.float64) + 0.5) / 2.0**32

    # -- generation ------------------------------------------------------------------------

    def logits_processor(self) -> LogitsProcessor:
        return GumbelSampler(self)

    def generation_kwargs(self, *, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0) -> dict[str, Any]:
        if temperature <= 0:
            # Greedy decoding leaves no choice to key: the text would carry no mark at all.
            raise InvalidInput("the gumbel watermark samples: temperature 0 (greedy) would leave the text unmarked")
        # The sampler applies temperature, top-k and top-p itself and returns a single allowed
        # token, which greedy decoding then takes.
        sampler = GumbelSampler(self, temperature=temperature, top_p=top_p, top_k=top_k)
        return {
            "logits_processor": LogitsProcessorList([sampler]),
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
        }

    # -- detection -------------------------------------------------------------------------

    def score_tokens(self, ids: Sequence[int] | IntArray, *, skip_ids: frozenset[int] = frozenset()) -> PositionScores:
        arr = self._check_ids(ids)
        length = arr.size
        scored = np.zeros(length, dtype=np.bool_)
        values = np.zeros(length, dtype=np.float64)
        h = self.context_width
        if length <= h:
            return PositionScores(scored, values)
        t = torch.from_numpy(arr)
        seeds = self.seeds(t.unfold(0, h, 1)[:-1])
        r = self.uniforms(seeds, t[h:]).numpy()
        seed_np = seeds.numpy()
        _, first = np.unique(seed_np, return_index=True)  # generation marks a context once
        keep = np.sort(first)
        if skip_ids:
            keep = keep[~np.isin(arr[keep + h], np.fromiter(skip_ids, dtype=np.int64))]
        scored[keep + h] = True
        values[keep + h] = -np.log1p(-r[keep])
        return PositionScores(scored, values)

    @property
    def null_mean(self) -> float:
        return 1.0

    def pvalue(self, score_sum: npt.ArrayLike, tokens: npt.ArrayLike) -> FloatArray:
        s = np.asarray(score_sum, dtype=np.float64)
        n = np.asarray(tokens, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            out = np.asarray(stats.gamma.sf(s, np.maximum(n, 1.0)), dtype=np.float64)
        return np.clip(np.where(n > 0, out, 1.0), 0.0, 1.0)

    def zscore(self, score_sum: npt.ArrayLike, tokens: npt.ArrayLike) -> FloatArray:
        s = np.asarray(score_sum, dtype=np.float64)
        n = np.asarray(tokens, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (s - n) / np.sqrt(n)
        return np.where(n > 0, z, 0.0)


class GumbelSampler(LogitsProcessor):
    """Chooses each token as ``argmax r ** (1 / p)``; returns logits that allow only that token.

    One sampler per ``generate`` call: it remembers, per row, the context seeds already used, and
    samples those positions normally (``torch.multinomial``, seeded by ``generate(seed=...)``).
    """

    def __init__(self, scheme: GumbelScheme, *, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0) -> None:
        self.scheme = scheme
        self.warpers: list[LogitsProcessor] = []
        if temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(temperature))
        if top_k:
            self.warpers.append(TopKLogitsWarper(top_k))
        if top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p))
        self.seen: list[set[int]] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """Args: input_ids ``(B, L)``; scores ``(B, V)``. Returns ``(B, V)``: 0 at the chosen
        token, ``-inf`` elsewhere."""
        batch, width = scores.shape
        if width > self.scheme.vocab_size:
            raise ValueError(f"model has {width} logits but the scheme was bound to {self.scheme.vocab_size} tokens")
        for warp in self.warpers:
            scores = warp(input_ids, scores)
        probs = torch.softmax(scores.double(), dim=-1)
        h = self.scheme.context_width
        if input_ids.shape[1] < h:
            choice = torch.multinomial(probs, 1)[:, 0]
        else:
            seeds = self.scheme.seeds(input_ids[:, -h:].cpu())
            r = self.scheme.uniforms(seeds[:, None], torch.arange(width)[None, :]).to(probs.device)
            with torch.no_grad():
                key = torch.where(probs > 0, torch.log(r) / probs, torch.tensor(-torch.inf, dtype=probs.dtype))
            choice = key.argmax(dim=-1)
            if not self.seen:
                self.seen = [set() for _ in range(batch)]
            for b, seed in enumerate(seeds.tolist()):
                if seed in self.seen[b]:
                    choice[b] = torch.multinomial(probs[b], 1)[0]
                else:
                    self.seen[b].add(seed)
        out = torch.full_like(scores, -torch.inf)
        out[torch.arange(batch), choice] = 0.0
        return out  # type: ignore[return-value]
