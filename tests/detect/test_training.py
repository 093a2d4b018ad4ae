from __future__ import annotations

import pytest

from detect.training import LabelledText, distinct
from watermark.errors import InvalidInput


def test_distinct_keeps_each_text_once_and_refuses_contradictions() -> None:
    rows = [LabelledText("a", 0, "s1"), LabelledText("b", 1, "s1"), LabelledText("a", 0, "s2")]
    kept = distinct(rows)
    assert list(kept) == ["a", "b"] and kept["a"].source == "s1"  # the first row of a text wins
    with pytest.raises(InvalidInput, match="both 0 and 1"):
        distinct([*rows, LabelledText("b", 0, "s3")])
