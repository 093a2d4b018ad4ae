from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from watermark.text.normalize import normalize_text


def test_removes_invisibles_maps_compatibility_and_folds_mixed_script_words() -> None:
    russian = "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440."
    text = "The qu\u200bick br\u043ewn \uff46\uff4f\uff58 \ufb01ne\u00a0day. " + russian
    n = normalize_text(text)
    assert n.text == "The quick brown fox fine day. " + russian
    assert n.changes() == {"invisible_removed": 1, "compatibility_mapped": 5, "homoglyphs_folded": 1}
    assert n.changed


def test_plain_text_is_unchanged() -> None:
    n = normalize_text("An ordinary sentence, with punctuation - and numbers 42.")
    assert not n.changed and n.text == "An ordinary sentence, with punctuation - and numbers 42."


@given(st.text(max_size=80))
def test_offsets_map_back_into_the_original(text: str) -> None:
    n = normalize_text(text)
    assert n.source.shape == (len(n.text) + 1,)
    assert n.source[-1] == len(text)
    assert np.all(np.diff(n.source) >= 0) and np.all(n.source <= len(text))
    if n.text:
        spans = n.original_offsets(np.array([[0, len(n.text)]]))
        assert 0 <= spans[0, 0] <= spans[0, 1] <= len(text)


def test_words_made_only_of_look_alikes_fold_between_latin_words() -> None:
    text = "I saw \u0430 cat and \u0430 dog."  # Cyrillic "а" as the article
    n = normalize_text(text)
    assert n.text == "I saw a cat and a dog." and n.homoglyphs_folded == 2
    russian = "\u041e\u043d \u0438 \u044f \u0430 \u043e\u043d\u0430"  # genuine Russian: "а" stays
    assert normalize_text(russian).text == russian
    edge = "Hello \u0430 \u043c\u0438\u0440"  # between Latin and genuine Cyrillic: not decided, left alone
    assert normalize_text(edge).text == edge
    assert normalize_text("\u0430").text == "\u0430"  # no context at all


def test_empty_ranges_map_to_empty_ranges() -> None:
    """Found by eval/fuzz.py: an empty range at 0 mapped to [0, 1), past the end of an empty text."""
    for text in ("", "ab\u200bc", "\u200b"):
        norm = normalize_text(text)
        for k in range(len(norm.text) + 1):
            start, end = (int(v) for v in norm.original_offsets(np.array([k, k])))
            assert start == end <= len(text)
