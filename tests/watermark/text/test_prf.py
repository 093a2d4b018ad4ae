"""The PRF's bits are pinned by a pure-Python reference, independent of torch's integer kernels."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from watermark.text.prf import fmix64, keyed_token_table, to_int64, uniform53

MASK = (1 << 64) - 1


def ref_fmix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=MASK), min_size=1, max_size=64))
def test_fmix64_matches_reference(words: list[int]) -> None:
    got = fmix64(torch.tensor([to_int64(w) for w in words], dtype=torch.int64)).tolist()
    assert [g & MASK for g in got] == [ref_fmix64(w) for w in words]
    u = uniform53(fmix64(torch.tensor([to_int64(w) for w in words], dtype=torch.int64))).tolist()
    assert u == [ref_fmix64(w) >> 11 for w in words]
    assert all(0 <= x < 2**53 for x in u)


def test_token_table_is_keyed_deterministic_and_prefix_stable() -> None:
    a = keyed_token_table(b"k", b"tok", 1000)
    assert torch.equal(a, keyed_token_table(b"k", b"tok", 1000))
    assert torch.equal(a[:500], keyed_token_table(b"k", b"tok", 500))
    assert (a != keyed_token_table(b"other", b"tok", 1000)).float().mean() > 0.99
    assert (a != keyed_token_table(b"k", b"ctx", 1000)).float().mean() > 0.99
    assert a.unique().numel() == 1000


def test_uniform53_is_uniform() -> None:
    u = uniform53(fmix64(torch.arange(200_000, dtype=torch.int64))).double() / 2**53
    assert abs(u.mean().item() - 0.5) < 0.005
    assert abs((u < 0.25).double().mean().item() - 0.25) < 0.005
