from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from detect.calibration import BUCKETS, CONTEXT, HumanReference, build_reference
from detect.cross_model import CROSS_FEATURES, Combination, ScoredText
from detect.features import TokenScores
from watermark.errors import ConfigurationError


def scored(ll: list[float] | np.ndarray, offsets: np.ndarray | None = None) -> ScoredText:
    """A text of the embedded model's per-token log-likelihoods (other statistics zero)."""
    a = np.asarray(ll, dtype=np.float64)
    z = np.zeros_like(a)
    return ScoredText(TokenScores(a, z, z, z, z, np.zeros((len(a), 2), dtype=np.int64) if offsets is None else offsets))


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
    assert ref.p_value_of(scored(np.zeros(10))) is None  # below the smallest bucket
    assert ref.bucket_for(16) == 16 and ref.bucket_for(100) == 96 and ref.bucket_for(5000) == 256
    p = [ref.p_value(s, 128).p_value for s in (-3.0, 0.0, 3.0, 10.0)]
    assert p == sorted(p, reverse=True) and p[-1] == pytest.approx(1 / 401)
    # The statistic is the mean of the bucket's tokens after the first 16, not of the whole text.
    ll = np.concatenate([np.full(16, 100.0), np.full(176, -1.0), np.full(8, 5.0)])
    score, res = ref.p_value_of(scored(ll))  # type: ignore[misc]
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
    assert old.context == 0 and old.statistic(scored(np.arange(32.0)), 32) == pytest.approx(15.5)
    for bad in ("{}", "not json", '{"model": "m", "statistic": "x", "buckets": {"16": "abc"}}'):
        with pytest.raises(ConfigurationError):
            HumanReference.from_json(bad)


def test_reference_from_token_scores_uses_prefixes() -> None:
    s = scored([-1.0] * 16 + [-3.0] * 16)
    whole = dataclasses.replace(build_reference("m", [s]), context=0)
    assert (whole.statistic(s, 16), whole.statistic(s, 32)) == (-1.0, -2.0)
    # With context 16 a bucket leaves out its first min(16, b // 4) tokens: 4 of 16, 8 of 32.
    ref = build_reference("m", [s])
    assert list(ref.scores[16]) == [-1.0] and list(ref.scores[32]) == [pytest.approx((8 * -1.0 + 16 * -3.0) / 24)]
    long = build_reference("m", [scored([-1.0] * 64 + [-2.0] * 64 + [-3.0] * 64)])
    assert list(long.windows) == [-3.0, -2.0]  # passages after the first 64 tokens
    s = scored([-1.0] * 32)
    ref = build_reference("m", [s, scored([-2.0] * 20)])
    assert list(ref.scores[16]) == [-2.0, -1.0] and list(ref.scores[32]) == [-1.0] and 48 not in ref.scores
    assert ref.bucket_for(40) is None  # 2 references are too few to decide anything


def test_small_buckets_defer_to_shorter_ones() -> None:
    rng = np.random.default_rng(0)
    ref = HumanReference(
        "m", "log_likelihood", {128: np.sort(rng.normal(0, 1, 300)), 256: np.sort(rng.normal(0, 1, 28))}
    )
    assert ref.bucket_for(300) == 128 and ref.p_value_of(scored(np.full(300, 5.0)))[1].reference_size == 300  # type: ignore[index]


def _pair(first_ll: list[float], second_ll: list[float]) -> ScoredText:
    """Two models over the same 4-character words: 'first' one token per word, 'second' one
    token per two words (different tokenisations of the same characters)."""
    n = len(first_ll)
    a = np.asarray(first_ll)
    first = TokenScores(
        a, np.zeros(n), np.ones(n), -np.ones(n), np.ones(n), np.array([[4 * i, 4 * i + 4] for i in range(n)])
    )
    m = len(second_ll)
    b = np.asarray(second_ll)
    second = TokenScores(
        b, np.zeros(m), np.full(m, 2.0), -np.full(m, 2.0), np.ones(m), np.array([[8 * i, 8 * i + 8] for i in range(m)])
    )
    return ScoredText(first, second)


def test_a_surprise_cap_floors_each_token_of_the_embedded_model_and_round_trips() -> None:
    """A token letter edits left broken costs the statistic at most the cap; the reference file
    keeps the cap, so texts are scored with the floor their reference was built with."""
    from detect.cross_model import span_features

    broken = [-2.0] * 31 + [-20.0]  # one very surprising token among 32
    t = _pair(broken, [-3.0] * 16)
    ll_first = CROSS_FEATURES.index("ll_first")
    assert span_features(t, 0, 32)[ll_first] == pytest.approx((-2.0 * 31 - 20.0) / 128)
    assert span_features(t, 0, 32, surprise_cap=8.0)[ll_first] == pytest.approx((-2.0 * 31 - 8.0) / 128)
    assert span_features(t, 0, 32, surprise_cap=8.0)[1] == span_features(t, 0, 32)[1]  # the second model's terms stay
    weights = np.zeros(len(CROSS_FEATURES))
    weights[ll_first] = 1.0
    comb = Combination(CROSS_FEATURES, np.zeros(len(CROSS_FEATURES)), np.ones(len(CROSS_FEATURES)), weights)
    humans = [_pair([-2.0 - i / 100] * 64, [-3.0] * 32) for i in range(120)]
    capped = build_reference("m", humans, combination=comb, second_model="g", surprise_cap=8.0)
    again = HumanReference.from_json(capped.to_json())
    assert again.surprise_cap == 8.0 and "surprise_cap" not in build_reference("m", humans).to_json()
    edited = _pair([-1.0] * 60 + [-30.0] * 4, [-3.0] * 32)  # machine-like text with four broken tokens
    assert again.p_value_of(edited)[1].p_value == pytest.approx(1 / 121)  # type: ignore[index]
    plain = dataclasses.replace(again, surprise_cap=None)
    assert plain.p_value_of(edited)[1].p_value == 1.0  # type: ignore[index]
    single = build_reference("m", [scored([-2.0 - i / 100] * 64) for i in range(120)], surprise_cap=8.0)
    assert single.value(scored([-2.0] * 63 + [-40.0]), 0, 64) == pytest.approx((-2.0 * 63 - 8.0) / 64)
    with pytest.raises(ConfigurationError, match="surprise_cap"):
        HumanReference.from_json(capped.to_json().replace('"surprise_cap": 8.0', '"surprise_cap": -1'))


def test_cross_model_statistic_is_per_character_and_round_trips() -> None:
    from detect.cross_model import span_features

    t = _pair([-2.0] * 32, [-3.0] * 16)
    x = span_features(t, 8, 32)  # characters 32..128: 24 tokens of the first model, 12 of the second
    f = dict(zip(CROSS_FEATURES, x, strict=True))
    assert f["ll_first"] == pytest.approx(-2.0 * 24 / 96) and f["ll_second"] == pytest.approx(-3.0 * 12 / 96)
    assert f["neg_entropy_first"] == pytest.approx(-24 / 96) and f["neg_entropy_second"] == pytest.approx(-24 / 96)
    assert f["bino_second_by_first"] == pytest.approx((-36 / 96) / (24 / 96))
    # A second-model token straddling the span's start is left out (its characters are not all inside).
    assert span_features(t, 7, 32)[1] == pytest.approx(-3.0 * 12 / 100)
    weights = np.zeros(len(CROSS_FEATURES))
    weights[1] = 1.0  # the second model's log-likelihood per character alone
    comb = Combination(CROSS_FEATURES, np.zeros(len(CROSS_FEATURES)), np.ones(len(CROSS_FEATURES)), weights)
    humans = [_pair([-2.0] * 64, [-3.0 - i / 100] * 32) for i in range(120)]
    ref = build_reference("m", humans, combination=comb, second_model="g", second_vocabulary=np.arange(5))
    assert ref.statistic_name == "cross_model" and len(ref.scores[64]) == 120
    again = HumanReference.from_json(ref.to_json())
    assert again.combination is not None and again.second_model == "g"
    assert list(again.second_vocabulary) == [0, 1, 2, 3, 4]  # type: ignore[arg-type]
    machine = _pair([-2.0] * 64, [-1.0] * 32)
    _, res = again.p_value_of(machine)  # type: ignore[misc]
    assert res.bucket == 64 and res.p_value == pytest.approx(1 / 121)
    with pytest.raises(ConfigurationError):
        bad = ref.to_json().replace('"ll_first"', '"other"')
        HumanReference.from_json(bad)


def test_second_model_window_covers_the_span_inside_it_and_round_trips() -> None:
    """With a window the second model's terms are over the span clipped to the window, and a span
    past the window is measured on the window's last tokens; per character of what was read."""
    from detect.cross_model import second_range, span_features

    assert second_range(16, 256, None) == (16, 256) and second_range(16, 100, 128) == (16, 100)
    assert second_range(16, 256, 128) == (16, 128) and second_range(192, 256, 128) == (64, 128)
    assert second_range(128, 400, 128) == (0, 128)  # longer than the window: all of it
    # the second model's entropy rises along the text: which tokens it is read over shows
    first_ll = [-2.0] * 64
    t = _pair(first_ll, [-3.0] * 32)
    t = ScoredText(t.first, dataclasses.replace(t.second, entropy=np.arange(32, dtype=np.float64)))  # type: ignore[arg-type]
    h2 = CROSS_FEATURES.index("neg_entropy_second")
    # span 8:48 clipped to 8:32 = characters 32..128 = second-model tokens 4..15
    assert span_features(t, 8, 48, 32)[h2] == pytest.approx(-sum(range(4, 16)) / 96)
    assert span_features(t, 8, 48)[h2] == pytest.approx(-sum(range(4, 24)) / 160)
    # span 48:64 starts past the window: the window's last 16 tokens (16:32, second-model 8..15)
    assert span_features(t, 48, 64, 32)[h2] == pytest.approx(-sum(range(8, 16)) / 64)
    # the embedded model's terms stay over the span itself
    assert span_features(t, 48, 64, 32)[0] == span_features(t, 48, 64)[0]
    weights = np.zeros(len(CROSS_FEATURES))
    weights[h2] = 1.0
    comb = Combination(CROSS_FEATURES, np.zeros(len(CROSS_FEATURES)), np.ones(len(CROSS_FEATURES)), weights)
    ref = build_reference("m", [t] * 3, combination=comb, second_model="g", second_window=64)
    again = HumanReference.from_json(ref.to_json())
    assert again.second_window == 64 and ref.statistic(t, 64) == again.statistic(t, 64)
    assert HumanReference.from_json(ref.to_json().replace('"window": 64', '"window": null')).second_window is None
    with pytest.raises(ConfigurationError, match="window"):
        HumanReference.from_json(ref.to_json().replace('"window": 64', '"window": 8'))


def test_cross_reference_is_made_of_the_reference_part_it_is_given() -> None:
    """The two-model reference holds the human texts of the reference part (the hash split by
    default, or the part a study draws) and its weights are fitted on the rest."""
    from detect.training import LabelledText, fit_cross_reference, in_reference_part

    rows = [
        LabelledText(f"the note number {i} is about the weather and the sea", i % 3 == 0, "xsum_x") for i in range(90)
    ]
    scores = [_pair([-1.0 if r.label else -2.0 - i / 90] * 64, [-3.0] * 32) for i, r in enumerate(rows)]
    humans = [r.label == 0 for r in rows]
    hashed = fit_cross_reference("m", rows, scores, "g", None, 32)
    assert len(hashed.scores[64]) == sum(h and in_reference_part(r.text) for h, r in zip(humans, rows, strict=True))
    assert hashed.second_window == 32 and hashed.combination is not None
    part = [i < 45 for i in range(90)]
    drawn = fit_cross_reference("m", rows, scores, "g", None, 32, reference_part=part)
    assert len(drawn.scores[64]) == sum(h and k for h, k in zip(humans, part, strict=True)) == 30
    assert dict(drawn.sources) == {"xsum_x": 30}
