from __future__ import annotations

from pathlib import Path

import pytest

from detect.training import LabelledText, distinct, fast_detect_gpt_sets
from watermark.errors import InvalidInput


def test_distinct_keeps_each_text_once_and_refuses_contradictions() -> None:
    rows = [LabelledText("a", 0, "s1"), LabelledText("b", 1, "s1"), LabelledText("a", 0, "s2")]
    kept = distinct(rows)
    assert list(kept) == ["a", "b"] and kept["a"].source == "s1"  # the first row of a text wins
    with pytest.raises(InvalidInput, match="both 0 and 1"):
        distinct([*rows, LabelledText("b", 0, "s3")])


def test_benchmark_sets_label_no_text_both_ways(fast_detect_gpt_dir: Path) -> None:
    sets = fast_detect_gpt_sets(fast_detect_gpt_dir)
    assert len(sets) == 6 and all(len(v) >= 299 for v in sets.values())
    distinct(r for rows in sets.values() for r in rows)  # raises on a text labelled both ways
