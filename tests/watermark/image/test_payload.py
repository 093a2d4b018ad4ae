from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watermark.errors import InvalidInput
from watermark.image.payload import RECORD_ID_BITS, Payload, key_tag


@given(record=st.integers(0, 2**RECORD_ID_BITS - 1), key_id=st.text(min_size=1, max_size=30))
def test_round_trip(record: int, key_id: str) -> None:
    p = Payload.for_key(key_id, record)
    assert Payload.from_bytes(p.to_bytes()) == p
    assert p.key_tag == key_tag(key_id) < 4096
    assert len(p.record_hex) == 12


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(InvalidInput):
        Payload.for_key("k", 2**RECORD_ID_BITS)
    with pytest.raises(InvalidInput):
        Payload.for_key("k", -1)
    with pytest.raises(InvalidInput):
        Payload.from_bytes(b"1234")


def test_key_tags_differ_between_keys() -> None:
    tags = {key_tag(f"key-{i}") for i in range(200)}
    assert len(tags) > 190  # 12-bit tags: a few collisions are expected, not many
