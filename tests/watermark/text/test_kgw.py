"""KGW scheme: null statistics, deduplication, consistency between generation and detection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tests.conftest import make_key
from watermark.errors import ConfigurationError
from watermark.text.kgw import KGWScheme

V = 5000


def scheme(**params: object) -> KGWScheme:
    return KGWScheme(make_key(**params), vocab_size=V)


@pytest.mark.parametrize("params", [{}, {"context_width": 4}, {"context_width": 4, "seeding": "hash"}, {"gamma": 0.5}])
def test_pvalues_are_uniform_under_the_null(params: dict[str, object]) -> None:
    s = scheme(**params)
    rng = np.random.default_rng(1)
    batch = list(rng.integers(0, V, size=(4000, 120)))
    b = s.score_batch(batch)
    assert abs(b.score_sum.sum() / b.tokens_scored.sum() - s.gamma_eff) < 0.005
    p = s.pvalue(b.score_sum, b.tokens_scored)
    # Discrete p-values are conservative: P(p <= a) <= a, and close to it.
    for a in (0.01, 0.05, 0.2):
        hits = int((p <= a).sum())
        low = stats.binomtest(hits, p.size, a).proportion_ci(0.999).low
        assert low <= a, (a, hits)
        assert hits / p.size > a / 3
    # Mid-p values (randomised for the discreteness) are uniform.
    mid = s.pvalue(b.score_sum + 1, b.tokens_scored) + rng.random(p.size) * (
        p - s.pvalue(b.score_sum + 1, b.tokens_scored)
    )
    assert stats.kstest(mid, "uniform").pvalue > 1e-3


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, V - 1), min_size=0, max_size=60), min_size=1, max_size=8), st.sampled_from([1, 3])
)
def test_batch_path_equals_per_text_path(texts: list[list[int]], h: int) -> None:
    s = scheme(context_width=h)
    skip = frozenset({0, 1})
    b = s.score_batch(texts, skip_ids=skip)
    for i, ids in enumerate(texts):
        ps = s.score_tokens(ids, skip_ids=skip)
        assert b.tokens_scored[i] == ps.scored.sum()
        assert b.score_sum[i] == ps.values[ps.scored].sum()
        assert not ps.scored[: min(h, len(ids))].any()
        assert not ps.scored[np.isin(np.asarray(ids, dtype=np.int64), [0, 1])].any() if ids else True


def test_repeated_pairs_are_scored_once() -> None:
    s = scheme()
    sentence = list(np.random.default_rng(3).integers(0, V, 15))
    once = s.score_tokens(sentence)
    many = s.score_tokens(sentence * 30)
    assert many.scored.sum() <= once.scored.sum() + 1  # the join of two copies adds one new pair
    p = s.pvalue(many.values[many.scored].sum(), many.scored.sum())
    assert p > 1e-3


def test_processor_marks_exactly_the_tokens_detection_calls_green() -> None:
    for params in ({}, {"context_width": 4}, {"context_width": 3, "seeding": "hash"}):
        s = scheme(**params)
        h = s.context_width
        ids = torch.randint(0, V, (6, 10))
        mask = s.green_mask(ids, V)  # (6, V)
        assert abs(mask.float().mean().item() - s.gamma_eff) < 0.02
        cand = torch.randint(0, V, (6,))
        for row in range(6):
            seq = [*ids[row, -h:].tolist(), int(cand[row])]
            ps = s.score_tokens(seq)
            assert ps.scored[h]
            assert bool(ps.values[h]) == bool(mask[row, cand[row]])


def test_processor_biases_green_logits_by_delta() -> None:
    s = scheme(delta=3.0)
    ids = torch.randint(0, V, (2, 5))
    scores = torch.randn(2, V)
    out = s.logits_processor()(ids, scores)
    diff = out - scores
    green = s.green_mask(ids, V)
    assert torch.allclose(diff[green], torch.tensor(3.0)) and torch.all(diff[~green] == 0)


def test_minhash_seed_survives_edits_of_non_minimal_context_tokens() -> None:
    s = scheme(context_width=4)
    ctx = s._table("ctx")
    words = ctx[torch.tensor([10, 20, 30, 40])]
    keep = int(torch.argmin(words))
    other = next(i for i in range(4) if i != keep)
    ids = [10, 20, 30, 40]
    edited = list(ids)
    # replace a non-minimal token with one whose word is larger than the minimum
    for cand in range(50, V):
        if ctx[cand] > words[keep]:
            edited[other] = cand
            break
    assert s._seeds(ctx[torch.tensor([ids])]).item() == s._seeds(ctx[torch.tensor([edited])]).item()
    chained = scheme(context_width=4, seeding="hash")
    assert chained._seeds(ctx[torch.tensor([ids])]).item() != chained._seeds(ctx[torch.tensor([edited])]).item()


def test_keys_give_independent_green_lists() -> None:
    a = KGWScheme(make_key(secret=b"a"), vocab_size=V).green_mask(torch.tensor([[7]]), V)
    b = KGWScheme(make_key(secret=b"b"), vocab_size=V).green_mask(torch.tensor([[7]]), V)
    overlap = (a & b).float().mean().item()
    assert abs(overlap - 0.25 * 0.25) < 0.02


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"gamma": 1.5}, "gamma"),
        ({"delta": -1}, "delta"),
        ({"context_width": 0}, "context_width"),
        ({"seeding": "left"}, "seeding"),
        ({"greenlist_ratio": 0.5}, "unknown parameter"),
        ({"gamma": "0.25"}, "wrong type"),
    ],
)
def test_invalid_parameters(params: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        scheme(**params)


def test_out_of_vocabulary_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="token ids"):
        scheme().score_tokens([1, 2, V])
