"""Zero-shot text statistics from the embedded language model, in one forward pass.

For every scored token ``x_t`` with next-token distribution ``p_t``:

- log-likelihood ``log p_t(x_t)``;
- log-rank ``log rank_t(x_t)`` (1 = the model's top choice);
- entropy ``H(p_t)``;
- GLTR bins: whether ``x_t`` is in the top 10, 11-100, 101-1000 or below;
- the analytic Fast-DetectGPT criterion with the scoring model as its own sampling model:
  ``(sum log p_t(x_t) - sum mu_t) / sqrt(sum sigma_t^2)`` where ``mu_t`` and ``sigma_t^2`` are
  the mean and variance of ``log p_t(X)`` under ``X ~ p_t``.

Every feature is signed so that *higher means more machine-like* (``neg_log_rank``,
``neg_entropy``), the one sign rule of the project. Per-token values are kept for span scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from tqdm import tqdm

from watermark.text.model import LanguageModel

__all__ = ["FEATURE_NAMES", "TextFeatures", "score_tokens", "text_features"]

FEATURE_NAMES = (
    "log_likelihood",
    "neg_log_rank",
    "neg_entropy",
    "gltr_top10",
    "gltr_top100",
    "gltr_top1000",
    "fast_detectgpt",
)
DEFAULT_MAX_TOKENS = 256

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TokenScores:
    """Per-token statistics ``(n,)`` of one text, scored tokens only."""

    log_likelihood: FloatArray
    log_rank: FloatArray
    entropy: FloatArray
    mean: FloatArray  # mu_t
    variance: FloatArray  # sigma_t^2
    offsets: npt.NDArray[np.int64]  # (n, 2) character offsets of each scored token


@dataclass(frozen=True)
class TextFeatures:
    """Aggregated features of one text (see module docstring); ``tokens`` = scored tokens."""

    tokens: int
    values: tuple[float, ...]

    def as_dict(self) -> dict[str, float]:
        """Feature name -> value."""
        return dict(zip(FEATURE_NAMES, self.values, strict=True))

    @property
    def log_likelihood(self) -> float:
        """Mean log-likelihood (the zero-shot statistic the p-value is computed on)."""
        return self.values[0]


def aggregate(scores: TokenScores, start: int = 0, stop: int | None = None) -> TextFeatures:
    """Features of the scored tokens ``start:stop``."""
    sl = slice(start, stop)
    ll, lr, ent = scores.log_likelihood[sl], scores.log_rank[sl], scores.entropy[sl]
    mu, var = scores.mean[sl], scores.variance[sl]
    n = len(ll)
    if n == 0:
        return TextFeatures(0, tuple(float("nan") for _ in FEATURE_NAMES))
    rank = np.exp(lr)
    fdg = (ll.sum() - mu.sum()) / math.sqrt(max(float(var.sum()), 1e-12))
    values = (
        float(ll.mean()),
        float(-lr.mean()),
        float(-ent.mean()),
        float(np.mean(rank <= 10.5)),
        float(np.mean((rank > 10.5) & (rank <= 100.5))),
        float(np.mean((rank > 100.5) & (rank <= 1000.5))),
        float(fdg),
    )
    return TextFeatures(n, values)


@torch.no_grad()
def score_tokens(
    lm: LanguageModel,
    texts: Sequence[str],
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    batch_size: int = 8,
    progress: bool = False,
) -> list[TokenScores]:
    """Per-token statistics for each text (the first ``max_tokens`` tokens after a BOS token).

    Texts are batched by length (right padding, attention mask) so a batch costs one forward pass;
    ``progress`` shows a progress bar (for training runs).
    """
    tok = lm.tokenizer
    bos = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    encoded = [
        tok(t, add_special_tokens=False, return_offsets_mapping=True, truncation=True, max_length=max_tokens)
        for t in texts
    ]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]["input_ids"]))
    out: list[TokenScores | None] = [None] * len(texts)
    device = next(lm.model.parameters()).device
    starts = range(0, len(order), batch_size)
    for b in tqdm(starts, desc="scoring texts", unit="batch", disable=not progress):
        idx = order[b : b + batch_size]
        seqs = [[bos, *encoded[i]["input_ids"]] for i in idx]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), bos, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, : len(s)] = torch.tensor(s)
            mask[r, : len(s)] = 1
        logits = lm.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits[:, :-1].float()
        logp = torch.log_softmax(logits, dim=-1)
        target = ids[:, 1:].to(device)
        ll = logp.gather(-1, target[..., None])[..., 0]
        rank = (logp > ll[..., None]).sum(-1) + 1
        p = logp.exp()
        mu = (p * logp).sum(-1)
        var = (p * logp.square()).sum(-1) - mu.square()
        for r, i in enumerate(idx):
            n = len(seqs[r]) - 1
            out[i] = TokenScores(
                log_likelihood=ll[r, :n].double().cpu().numpy(),
                log_rank=torch.log(rank[r, :n].double()).cpu().numpy(),
                entropy=(-mu[r, :n]).double().cpu().numpy(),
                mean=mu[r, :n].double().cpu().numpy(),
                variance=var[r, :n].clamp_min(0).double().cpu().numpy(),
                offsets=np.asarray(encoded[i]["offset_mapping"], dtype=np.int64).reshape(-1, 2)[:n],
            )
    return [s for s in out if s is not None]


def text_features(
    lm: LanguageModel, texts: Sequence[str], *, max_tokens: int = DEFAULT_MAX_TOKENS
) -> list[TextFeatures]:
    """Aggregated features of each text."""
    return [aggregate(s) for s in score_tokens(lm, texts, max_tokens=max_tokens)]
