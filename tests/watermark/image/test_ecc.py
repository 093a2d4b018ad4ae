from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watermark.image import ecc


@settings(max_examples=40, deadline=None)
@given(payload=st.binary(min_size=8, max_size=8), seed=st.integers(0, 2**32 - 1))
def test_decodes_through_noise(payload: bytes, seed: int) -> None:
    rng = np.random.default_rng(seed)
    coded = ecc.encode(ecc.with_crc(payload))
    assert coded.shape == (ecc.CODED_BITS,)
    soft = np.where(coded, 1.0, -1.0) + rng.normal(0, 0.7, coded.shape)  # ~8 % raw bit errors
    assert ecc.crc_ok(ecc.viterbi_decode(soft)) == payload


def test_corrects_a_burst_of_hard_errors() -> None:
    payload = b"\x10\x23assay!"
    coded = ecc.encode(ecc.with_crc(payload))
    soft = np.where(coded, 1.0, -1.0)
    soft[100:104] *= -1  # a burst, within d_free = 15
    assert ecc.crc_ok(ecc.viterbi_decode(soft)) == payload


def test_crc_rejects_a_changed_message() -> None:
    message = ecc.with_crc(b"12345678")
    assert ecc.crc_ok(message) == b"12345678"
    message[5] ^= True
    assert ecc.crc_ok(message) is None


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError):
        ecc.with_crc(b"short")
    with pytest.raises(ValueError):
        ecc.viterbi_decode(np.zeros(10))
    with pytest.raises(ValueError):
        ecc.encode(np.zeros(5, dtype=bool))


def test_decoded_messages_are_uniform_under_the_null() -> None:
    """The exact bound rests on this: noise in, uniform messages out (checked on visible rates)."""
    rng = np.random.default_rng(7)
    n = 3000
    first_crc_byte = version = 0
    for _ in range(n):
        soft = rng.normal(0, 1, ecc.CODED_BITS) * rng.gamma(1.0, 1.0, ecc.CODED_BITS)  # heavy-tailed noise
        raw = np.packbits(ecc.viterbi_decode(soft)).tobytes()
        first_crc_byte += raw[8] == zlib.crc32(raw[:8]).to_bytes(4, "big")[0]
        version += raw[0] >> 4 == 1
    # Binomial 99.99 % bands: 1/256 -> 11.7 expected; 1/16 -> 187.5 expected.
    assert 1 <= first_crc_byte <= 28
    assert 140 <= version <= 240
