"""The PRF's bits are pinned by a pure-Python reference, independent of torch's integer kernels."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from watermark.text.prf import fmix32, keyed_token_table, to_int32, unsigned_less

MASK = (1 << 32) - 1


def ref_fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & MASK
    return h ^ (h >> 16)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=MASK), min_size=1, max_size=64),
    st.integers(min_value=0, max_value=1 << 32),
)
def test_fmix32_and_unsigned_compare_match_reference(words: list[int], threshold: int) -> None:
    x = torch.tensor([to_int32(w) for w in words], dtype=torch.int32)
    got = fmix32(x)
    assert [g & MASK for g in got.tolist()] == [ref_fmix32(w) for w in words]
    assert unsigned_less(got, threshold).tolist() == [ref_fmix32(w) < threshold for w in words]


def test_token_table_is_keyed_deterministic_and_prefix_stable() -> None:
    a = keyed_token_table(b"k", b"tok", 1000)
    assert a.dtype == torch.int32
    assert torch.equal(a, keyed_token_table(b"k", b"tok", 1000))
    assert torch.equal(a[:500], keyed_token_table(b"k", b"tok", 500))
    assert (a != keyed_token_table(b"other", b"tok", 1000)).float().mean() > 0.99
    assert (a != keyed_token_table(b"k", b"ctx", 1000)).float().mean() > 0.99


def test_fmix32_output_is_uniform() -> None:
    u = fmix32(torch.arange(200_000, dtype=torch.int32))
    for gamma in (0.1, 0.25, 0.5):
        frac = unsigned_less(u, round(gamma * 2**32)).double().mean().item()
        assert abs(frac - gamma) < 0.005
