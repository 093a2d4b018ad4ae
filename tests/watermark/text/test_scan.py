from __future__ import annotations

import numpy as np
from scipy import stats

from watermark.text.scan import scan_windows
from watermark.text.stats import binomial_pvalue


def pv(k: object, n: object) -> np.ndarray:
    return binomial_pvalue(k, n, 0.25)  # type: ignore[arg-type]


def test_short_texts_are_not_scanned() -> None:
    r = scan_windows(np.ones(40), pv, null_mean=0.25, alpha=1e-3)
    assert r.windows == 0 and r.p_value == 1.0 and r.spans == ()


def test_finds_a_marked_passage_inside_unmarked_text() -> None:
    rng = np.random.default_rng(0)
    values = (rng.random(600) < 0.25).astype(float)
    values[250:350] = (rng.random(100) < 0.8).astype(float)
    r = scan_windows(values, pv, null_mean=0.25, alpha=1e-3)
    assert len(r.spans) == 1
    span = r.spans[0]
    overlap = max(0, min(span.last + 1, 350) - max(span.first, 250))
    assert overlap / 100 > 0.8
    assert (span.last + 1 - span.first) < 100 + 2 * 64  # no more than a window of slack a side
    assert values[span.first] == 1 and values[span.last] == 1
    assert r.p_value <= 1e-3


def test_document_level_false_positive_rate_is_controlled() -> None:
    rng = np.random.default_rng(1)
    alpha, docs = 0.05, 2000
    flagged = sum(
        bool(scan_windows((rng.random(400) < 0.25).astype(float), pv, null_mean=0.25, alpha=alpha).spans)
        for _ in range(docs)
    )
    assert stats.binomtest(flagged, docs, alpha).proportion_ci(0.999).low <= alpha
