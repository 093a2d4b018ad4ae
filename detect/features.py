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
_ROWS = 128  # positions per tile of logits
_COLUMNS = 8192  # vocabulary rows per tile: 128 x 8192 float32 logits, 4 MiB

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


def _head(lm: LanguageModel, vocabulary: npt.NDArray[np.int64] | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The output projection (restricted to ``vocabulary`` rows when given) and, then, a lookup
    table ``token id -> row`` (-1: not kept). Cached on the model object: slicing a 262 k-row
    head for every batch would cost as much as the scoring."""
    weight = lm.model.get_output_embeddings().weight
    if vocabulary is None:
        return weight, None
    key = vocabulary.tobytes()
    cached = getattr(lm.model, "_assay_restricted_head", None)
    if cached is None or cached[0] != key:
        rows = torch.as_tensor(vocabulary, dtype=torch.long, device=weight.device)
        where = torch.full((weight.shape[0],), -1, dtype=torch.long, device=weight.device)
        where[rows] = torch.arange(len(rows), device=weight.device)
        cached = (key, weight[rows].contiguous(), where)
        lm.model._assay_restricted_head = cached
    return cached[1], cached[2]


def _softcap(lm: LanguageModel) -> float | None:
    config = lm.model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    cap = getattr(text, "final_logit_softcapping", None)
    return float(cap) if cap else None


def _capped(z: torch.Tensor, cap: float | None) -> torch.Tensor:
    """Gemma's final logit soft-capping ``cap * tanh(z / cap)``, in place; ``z`` itself without a cap."""
    return z if cap is None else z.div_(cap).tanh_().mul_(cap)


def _position_stats(
    lm: LanguageModel,
    hidden: torch.Tensor,
    targets: torch.Tensor,
    vocabulary: npt.NDArray[np.int64] | None,
    ranks: bool,
) -> tuple[torch.Tensor, ...]:
    """log p(target), rank, mu and sigma^2 of log p(X) for rows of final hidden states ``(N, d)``.

    With a ``vocabulary`` the distribution is the model's restricted to those tokens (a target
    outside it joins its own row's normaliser, so its probability stays below one).

    The logits are made and reduced in tiles of ``_ROWS`` positions by ``_COLUMNS`` vocabulary
    rows, small enough to stay in the CPU's cache through the five passes each one needs (maximum,
    exponential, three sums): the normaliser, mean and second moment are kept as running sums
    rescaled when a tile raises a row's maximum (the online softmax), shifted by that maximum
    so the variance does not cancel. A rank compares each logit with the target's, computed
    once beforehand by its own dot product and rounded like the product's output; the target's
    own column is then taken out of the count, so a rounding difference between the two cannot
    count the target above itself.
    """
    weight, where = _head(lm, vocabulary)
    full = lm.model.get_output_embeddings().weight
    cap = _softcap(lm)
    out: list[tuple[torch.Tensor, ...]] = []
    for a in range(0, hidden.shape[0], _ROWS):
        h, t = hidden[a : a + _ROWS], targets[a : a + _ROWS]
        n = h.shape[0]
        hw = h.to(weight.dtype)
        column = t if where is None else where[t]  # the target's row of the head; -1: not kept
        alone = _capped((h * full[t].float()).sum(-1), cap)  # the target's logit by its own dot product
        own = alone.to(weight.dtype).float()
        gathered = torch.full((n,), -math.inf, device=h.device)  # the target's logit as the product gives it
        above = torch.zeros(n, dtype=torch.long, device=h.device)
        top = torch.full((n,), -math.inf, device=h.device)
        s0, s1, s2 = (torch.zeros(n, device=h.device) for _ in range(3))  # sums of e, e*y, e*y^2; y = z - top
        for c in range(0, weight.shape[0], _COLUMNS):
            z = _capped((hw @ weight[c : c + _COLUMNS].T).float(), cap)
            here = ((column >= c) & (column < c + z.shape[1])).nonzero()[:, 0]
            gathered[here] = z[here, column[here] - c]
            if ranks:
                above += (z > own[:, None]).sum(-1)
            new = torch.maximum(top, z.amax(-1))
            d = torch.nan_to_num(new - top, posinf=0.0)  # the shift of y; the first tile has nothing to shift
            r = torch.exp(top - new)
            s2 = r * (s2 - 2 * d * s1 + d * d * s0)
            s1 = r * (s1 - d * s0)
            s0 = r * s0
            top = new
            y = z.sub_(top[:, None])
            e = torch.exp(y)
            s0 += e.sum(-1)
            s1 += e.mul_(y).sum(-1)
            s2 += e.mul_(y).sum(-1)
        lse = top + torch.log(s0)
        kept = column >= 0
        ll = torch.where(kept, gathered - lse, alone - torch.logaddexp(lse, alone))
        mean_y = s1 / s0
        rank = above - (gathered > own).long() + 1 if ranks else torch.ones_like(t)
        out.append((ll, rank, mean_y - torch.log(s0), s2 / s0 - mean_y.square()))
    if not out:
        empty = torch.zeros(0, device=hidden.device)
        return empty, empty.long(), empty, empty
    return tuple(torch.cat(cols) for cols in zip(*out, strict=True))


@torch.no_grad()
def score_tokens(
    lm: LanguageModel,
    texts: Sequence[str],
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    batch_size: int = 8,
    progress: bool = False,
    vocabulary: npt.NDArray[np.int64] | None = None,
    ranks: bool = True,
) -> list[TokenScores]:
    """Per-token statistics for each text (the first ``max_tokens`` tokens after a BOS token).

    Texts are batched by length (right padding, attention mask) so a batch costs one forward pass
    of the model's body; the output projection and the statistics are computed for real tokens
    only. ``vocabulary`` restricts the next-token distribution to those token ids (the second
    model's 262 k vocabulary would otherwise dominate the cost); ``ranks=False`` skips log-rank and
    GLTR (left at rank 1). ``progress`` shows a progress bar (for training runs).
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
    body = lm.model.get_decoder()
    starts = range(0, len(order), batch_size)
    for b in tqdm(starts, desc=f"scoring texts ({lm.name})", unit="batch", disable=not progress):
        idx = order[b : b + batch_size]
        seqs = [[bos, *encoded[i]["input_ids"]] for i in idx]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), bos, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, : len(s)] = torch.tensor(s)
            mask[r, : len(s)] = 1
        ids, mask = ids.to(device), mask.to(device)
        hidden = body(input_ids=ids, attention_mask=mask).last_hidden_state[:, :-1]
        real = mask[:, 1:].bool()
        ll, rank, mu, var = _position_stats(lm, hidden[real].float(), ids[:, 1:][real], vocabulary, ranks)
        at = 0
        for i, s in zip(idx, seqs, strict=True):
            n = len(s) - 1
            row = slice(at, at + n)
            at += n
            out[i] = TokenScores(
                log_likelihood=ll[row].double().cpu().numpy(),
                log_rank=torch.log(rank[row].double()).cpu().numpy(),
                entropy=(-mu[row]).double().cpu().numpy(),
                mean=mu[row].double().cpu().numpy(),
                variance=var[row].clamp_min(0).double().cpu().numpy(),
                offsets=np.asarray(encoded[i]["offset_mapping"], dtype=np.int64).reshape(-1, 2)[:n],
            )
    return [s for s in out if s is not None]


def text_features(
    lm: LanguageModel, texts: Sequence[str], *, max_tokens: int = DEFAULT_MAX_TOKENS
) -> list[TextFeatures]:
    """Aggregated features of each text."""
    return [aggregate(s) for s in score_tokens(lm, texts, max_tokens=max_tokens)]
