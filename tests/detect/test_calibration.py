from __future__ import annotations

import numpy as np
import pytest

from detect.calibration import BUCKETS, CONTEXT, HumanReference, build_reference, prefix_means
from detect.features import TokenScores
from watermark.errors import ConfigurationError


def _ref(n: int = 400, seed: int = 0) -> HumanReference:
    rng = np.random.default_rng(seed)
    return HumanReference("m", "log_likelihood", {b: np.sort(rng.normal(0, 1, n)) for b in BUCKETS})


def test_conformal_p_values_are_valid_under_exchangeability() -> None:
    """Reference and test texts drawn alike: P(p <= a) <= a over references and draws (seeded).

    Validity is marginal: 300 references of 100 humans, 100 new draws each (30,000 p-values).
    """
    rng = np.random.default_rng(1)
    ps = []
    for _ in range(300):
        ref = HumanReference("m", "log_likelihood", {64: np.sort(rng.normal(0, 1, 100))})
        ps += [ref.p_value(float(s), 64).p_value for s in rng.normal(0, 1, 100)]
    p = np.array(ps)
    for a in (0.01, 0.05, 0.2):
        assert np.mean(p <= a) <= a + 3 * np.sqrt(a * (1 - a) / len(p))
        assert np.mean(p <= a) >= a * 0.8  # and not wildly conservative
    assert p.min() >= 1 / 101 and p.max() <= 1.0


def test_buckets_and_monotonicity() -> None:
    ref = _ref()
    assert ref.p_value_of(np.zeros(10)) is None  # below the smallest bucket
    assert ref.bucket_for(16) == 16 and ref.bucket_for(100) == 96 and ref.bucket_for(5000) == 256
    p = [ref.p_value(s, 128).p_value for s in (-3.0, 0.0, 3.0, 10.0)]
    assert p == sorted(p, reverse=True) and p[-1] == pytest.approx(1 / 401)
    # The statistic is the mean of the bucket's tokens after the first 16, not of the whole text.
    ll = np.concatenate([np.full(16, 100.0), np.full(176, -1.0), np.full(8, 5.0)])
    score, res = ref.p_value_of(ll)  # type: ignore[misc]
    assert score == -1.0 and res.bucket == 192
    # The standardised score puts buckets on one scale: (s - mean) / sd of the bucket's reference.
    r = ref.scores[192]
    assert res.standardized == pytest.approx((-1.0 - r.mean()) / r.std())


def test_json_round_trip_and_bad_files() -> None:
    ref = _ref(50)
    again = HumanReference.from_json(ref.to_json())
    assert again.model == "m" and all(np.allclose(again.scores[b], ref.scores[b], atol=1e-6) for b in BUCKETS)
    assert again.context == CONTEXT == 16
    # A file written before the context rule keeps its meaning: whole prefixes.
    old = HumanReference.from_json('{"model": "m", "statistic": "log_likelihood", "buckets": {"32": [0.5]}}')
    assert old.context == 0 and old.statistic(np.arange(32.0), 32) == pytest.approx(15.5)
    for bad in ("{}", "not json", '{"model": "m", "statistic": "x", "buckets": {"16": "abc"}}'):
        with pytest.raises(ConfigurationError):
            HumanReference.from_json(bad)


def test_reference_from_token_scores_uses_prefixes() -> None:
    def scores(ll: list[float]) -> TokenScores:
        a = np.asarray(ll, dtype=np.float64)
        z = np.zeros_like(a)
        return TokenScores(a, z, z, z, z, np.zeros((len(a), 2), dtype=np.int64))

    s = scores([-1.0] * 16 + [-3.0] * 16)
    assert prefix_means(s, context=0) == {16: -1.0, 32: -2.0}
    # With context 16 a bucket leaves out its first min(16, b // 4) tokens: 4 of 16, 8 of 32.
    assert prefix_means(s) == {16: -1.0, 32: pytest.approx((8 * -1.0 + 16 * -3.0) / 24)}
    long = build_reference("m", [scores([-1.0] * 64 + [-2.0] * 64 + [-3.0] * 64)])
    assert list(long.windows) == [-3.0, -2.0]  # passages after the first 64 tokens
    s = scores([-1.0] * 32)
    ref = build_reference("m", [s, scores([-2.0] * 20)])
    assert list(ref.scores[16]) == [-2.0, -1.0] and list(ref.scores[32]) == [-1.0] and 48 not in ref.scores
    assert ref.bucket_for(40) is None  # 2 references are too few to decide anything


def test_small_buckets_defer_to_shorter_ones() -> None:
    rng = np.random.default_rng(0)
    ref = HumanReference(
        "m", "log_likelihood", {128: np.sort(rng.normal(0, 1, 300)), 256: np.sort(rng.normal(0, 1, 28))}
    )
    assert ref.bucket_for(300) == 128 and ref.p_value_of(np.full(300, 5.0))[1].reference_size == 300  # type: ignore[index]
