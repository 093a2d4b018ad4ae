"""Compatibility with the watermark of a stock ``transformers`` install.

Scheme ``"kgw-transformers"`` takes the fields of ``transformers.WatermarkingConfig``
(``greenlist_ratio``, ``bias``, ``hashing_key``, ``seeding_scheme``, ``context_width``) and
reproduces its green lists bit for bit: they come from ``torch.randperm`` on a CPU generator seeded
as ``transformers.WatermarkLogitsProcessor`` seeds it, so marks made by transformers on a CPU are
found (transformers' CUDA generator gives other lists; that is transformers' design, not ours).

Differences from ``transformers.WatermarkDetector``, all on the side of correct statistics:
repeated PRF inputs ``(seed, token)`` are always scored once (transformers counts every window
unless ``ignore_repeated_ngrams=True``, and then dedups on the token window, which for ``selfhash``
can still count one seed twice); the p-value is the exact binomial tail, not ``norm.sf(z)``; and
padding or special tokens are never scored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import LogitsProcessor, WatermarkingConfig
from transformers.generation.logits_process import WatermarkLogitsProcessor

from watermark.errors import ConfigurationError
from watermark.keys import WatermarkKey
from watermark.text.scheme import (
    GreenListScheme,
    IntArray,
    PositionScores,
    parse_params,
    register_scheme,
)

__all__ = ["TransformersKGWScheme"]

_TABLE_SIZE = 1_000_003  # transformers' fixed table for selfhash
_MOD = 2**64 - 1
_CACHED = 16384  # green lists kept per scheme (~100 MB at most for a 49 k vocabulary)
DEFAULTS: dict[str, Any] = {
    "greenlist_ratio": 0.25,
    "bias": 2.0,
    "seeding_scheme": "lefthash",
    "context_width": 1,
}


@register_scheme
class TransformersKGWScheme(GreenListScheme):
    """KGW exactly as ``transformers.WatermarkingConfig`` embeds it (scheme ``"kgw-transformers"``)."""

    name: ClassVar[str] = "kgw-transformers"

    def __init__(self, key: WatermarkKey, *, vocab_size: int) -> None:
        super().__init__(key, vocab_size=vocab_size)
        merged = parse_params(
            key,
            DEFAULTS,
            {"greenlist_ratio": (float, int), "bias": (float, int), "seeding_scheme": str, "context_width": int},
        )
        self.greenlist_ratio = float(merged["greenlist_ratio"])
        self.bias = float(merged["bias"])
        self.seeding_scheme = str(merged["seeding_scheme"])
        self.context_width = int(merged["context_width"])
        try:
            self._hashing_key = int(key.secret.reveal().decode())
        except ValueError:
            raise ConfigurationError(f"key {key.key_id!r}: `hashing_key` must be an integer") from None
        if self.seeding_scheme not in ("lefthash", "selfhash"):
            raise ConfigurationError(f"key {key.key_id!r}: `seeding_scheme` must be 'lefthash' or 'selfhash'")
        if not 0.0 < self.greenlist_ratio < 1.0:
            raise ConfigurationError(f"key {key.key_id!r}: `greenlist_ratio` has to be in (0, 1)")
        if self.context_width < 1:
            raise ConfigurationError(f"key {key.key_id!r}: `context_width` has to be >= 1")
        self.greenlist_size = int(self.vocab_size * self.greenlist_ratio)
        # Under the null a token falls in a list of exactly this many of `vocab_size` ids.
        self.gamma_eff = self.greenlist_size / self.vocab_size
        # transformers standardises its z-score with greenlist_ratio itself; so do we, for agreement.
        self.z_gamma = self.greenlist_ratio
        self._fixed_table: torch.Tensor | None = None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()  # seed -> green list, packed bits

    def parameters(self) -> dict[str, Any]:
        return {
            "greenlist_ratio": self.greenlist_ratio,
            "bias": self.bias,
            "seeding_scheme": self.seeding_scheme,
            "context_width": self.context_width,
        }

    def generation_kwargs(self, *, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0) -> dict[str, Any]:
        # Exactly what a transformers user passes, so transformers places the processor itself
        # (after temperature, top-k and top-p) and the output is identical to a stock install's.
        return {"watermarking_config": WatermarkingConfig(hashing_key=self._hashing_key, **self.parameters())}

    def logits_processor(self) -> LogitsProcessor:
        # transformers' own processor: the reference behaviour, including its rejection sampling.
        return WatermarkLogitsProcessor(
            vocab_size=self.vocab_size,
            device="cpu",
            greenlist_ratio=self.greenlist_ratio,
            bias=self.bias,
            hashing_key=self._hashing_key,
            seeding_scheme=self.seeding_scheme,
            context_width=self.context_width,
        )

    # -- seeding, as transformers' WatermarkLogitsProcessor.set_seed --------------------------

    def _seeds(self, ids: torch.Tensor) -> tuple[list[int], int]:
        """Seeds for every scored position of ``(L,)`` ids and the first scored index."""
        if self.seeding_scheme == "lefthash":
            # transformers: seed = hash_key * input_seq[-1] (a Python int, no wrap-around).
            first = self.context_width
            return [(self._hashing_key * int(v)) % _MOD for v in ids[first - 1 : -1].tolist()], first
        if self._fixed_table is None:
            rng = torch.Generator(device="cpu").manual_seed(self._hashing_key)
            self._fixed_table = torch.randperm(_TABLE_SIZE, generator=rng)
        first = self.context_width - 1  # the window ends at the candidate token itself
        windows = ids.unfold(0, self.context_width, 1)
        a = self._fixed_table[windows % _TABLE_SIZE] + 1
        b = self._fixed_table[windows[:, -1] % _TABLE_SIZE] + 1
        seeds = (self._hashing_key * a * b[:, None]).amin(dim=1)  # int64 wrap-around, as torch does
        return [int(s) % _MOD for s in seeds.tolist()], first

    def _green(self, seed: int, token: int) -> bool:
        """Whether ``token`` is in the green list of ``seed``. A list costs a ``torch.randperm``
        of the vocabulary; the last ``_CACHED`` lists are kept as packed bits (6 KB each for a
        49 k vocabulary, not 48 KB as booleans), enough for the distinct contexts of a few
        hundred texts."""
        packed = self._cache.get(seed)
        if packed is not None:
            self._cache.move_to_end(seed)
        else:
            rng = torch.Generator(device="cpu").manual_seed(seed)
            member = np.zeros(self.vocab_size, dtype=np.bool_)
            member[torch.randperm(self.vocab_size, generator=rng)[: self.greenlist_size].numpy()] = True
            packed = self._cache[seed] = np.packbits(member)
            if len(self._cache) > _CACHED:
                self._cache.popitem(last=False)
        return bool((packed[token >> 3] >> (7 - (token & 7))) & 1)

    def score_tokens(self, ids: Sequence[int] | IntArray, *, skip_ids: frozenset[int] = frozenset()) -> PositionScores:
        arr = self._check_ids(ids)
        length = arr.size
        scored = np.zeros(length, dtype=np.bool_)
        values = np.zeros(length, dtype=np.float64)
        if length < self.context_width + (self.seeding_scheme == "lefthash"):
            return PositionScores(scored, values)
        seeds, first = self._seeds(torch.from_numpy(arr))
        seen: set[tuple[int, int]] = set()
        for offset, seed in enumerate(seeds):
            t = first + offset
            token = int(arr[t])
            if token in skip_ids or (seed, token) in seen:
                continue
            seen.add((seed, token))
            scored[t] = True
            values[t] = float(self._green(seed, token))
        return PositionScores(scored, values)
