from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from watermark.text.stats import binomial_pvalue, binomial_zscore, bonferroni


def exact_tail(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@given(st.integers(1, 60), st.data(), st.sampled_from([0.1, 0.25, 0.5]))
def test_binomial_pvalue_is_the_exact_tail(n: int, data: st.DataObject, p: float) -> None:
    k = data.draw(st.integers(0, n))
    got = float(binomial_pvalue(k, n, p))
    assert 0.0 <= got <= 1.0
    assert got == pytest.approx(exact_tail(k, n, p), rel=1e-9, abs=1e-300)


def test_exact_tail_differs_from_normal_approximation() -> None:
    # At gamma=.25 and z=4 the normal tail (3.2e-5) understates the exact one.
    n = 25
    k = math.ceil(0.25 * n + 4 * math.sqrt(n * 0.25 * 0.75))
    assert float(binomial_pvalue(k, n, 0.25)) > 1e-4


def test_vectorised_and_edge_cases() -> None:
    p = binomial_pvalue(np.array([0, 5, 10]), np.array([10, 10, 10]), 0.25)
    assert p[0] == 1.0 and p[2] == pytest.approx(0.25**10)
    assert float(binomial_pvalue(0, 0, 0.25)) == 1.0
    assert float(binomial_zscore(0, 0, 0.25)) == 0.0
    assert float(binomial_zscore(10, 10, 0.5)) > 3


def test_bonferroni() -> None:
    assert bonferroni(0.3, 4) == 1.0
    assert bonferroni(1e-5, 3) == pytest.approx(3e-5)
    with pytest.raises(ValueError):
        bonferroni(0.1, 0)
