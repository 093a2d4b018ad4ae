"""Detection end to end with a tiny random model: round trip, rotation, spans, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, make_key
from watermark.errors import InvalidInput, PayloadTooLarge, TooShort
from watermark.keys import KeyRing
from watermark.text import TextWatermarkDetector, generate, scheme_for_key
from watermark.text.model import LanguageModel

HUMAN = [json.loads(line)["text"] for line in Path(REPO / "eval/data/human_jargon.jsonl").read_text().splitlines()]


def detector(lm: LanguageModel, ring: KeyRing, **kw: object) -> TextWatermarkDetector:
    return TextWatermarkDetector.from_keyring(ring, vocab_size=lm.vocab_size, tokenizer=lm.tokenizer, **kw)  # type: ignore[arg-type]


def test_round_trip_and_key_rotation(tiny_lm: LanguageModel, ring: KeyRing) -> None:
    det = detector(tiny_lm, ring)
    for key_id in ("new", "old"):
        scheme = scheme_for_key(ring.get(key_id), vocab_size=tiny_lm.vocab_size)
        gens = generate(tiny_lm, ["Tell me about owls.", "A poem on rain."], scheme=scheme, max_new_tokens=60, seed=3)
        for g in gens:
            assert g.watermark == {"scheme": "kgw", "key_id": key_id, "parameters": scheme.parameters()}
            best = det.detect_ids(g.token_ids)[0]
            assert best.key_id == key_id and best.detected and best.keys_tried == 2
            assert best.p_value == pytest.approx(min(1.0, 2 * best.p_value_text))  # no scan below 64 tokens
            other = det.detect_ids(g.token_ids)[1]
            assert not other.detected
            from_text = det.detect_text(g.text)[0]
            assert from_text.key_id == key_id and from_text.detected


def test_unwatermarked_generation_is_not_detected(tiny_lm: LanguageModel, ring: KeyRing) -> None:
    det = detector(tiny_lm, ring)
    gens = generate(tiny_lm, ["Tell me about owls."] * 4, scheme=None, max_new_tokens=60, seed=5)
    assert all(g.watermark is None for g in gens)
    assert not any(d.detected for g in gens for d in det.detect_ids(g.token_ids))


def test_human_text_is_not_flagged_and_repetition_does_not_fool_it(tiny_lm: LanguageModel, ring: KeyRing) -> None:
    det = detector(tiny_lm, ring)
    for text in HUMAN[:20]:
        assert not any(d.detected for d in det.detect_text(text))
    sentence = HUMAN[0].split(". ")[0] + ". "
    d = det.detect_text(sentence * 40)
    assert not any(x.detected for x in d)
    assert d[0].tokens_scored < 60  # the repeats were scored once


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_span_localises_ai_paragraph_in_human_text(tiny_lm: LanguageModel, ring: KeyRing, seed: int) -> None:
    scheme = scheme_for_key(ring.active, vocab_size=tiny_lm.vocab_size)
    ai = generate(tiny_lm, "Write a paragraph.", scheme=scheme, max_new_tokens=120, seed=seed)[0].text
    before, after = " ".join(HUMAN[1:4]), " ".join(HUMAN[4:7])
    text = f"{before}\n\n{ai}\n\n{after}"
    start, end = len(before) + 2, len(before) + 2 + len(ai)
    best = detector(tiny_lm, ring).detect_text(text)[0]
    assert best.key_id == "new" and best.detected
    assert len(best.spans) == 1
    span = best.spans[0]
    overlap = max(0, min(span.end, end) - max(span.start, start))
    assert overlap / (end - start) > 0.85  # recall
    assert overlap / (span.end - span.start) > 0.7  # precision
    assert text[span.start : span.end].strip()


def test_too_short_is_not_not_watermarked(tiny_lm: LanguageModel, ring: KeyRing) -> None:
    det = detector(tiny_lm, ring)
    d = det.detect_text("Hello there, friend.")
    assert all(x.verdict == "too-short" and not x.detected for x in d)
    with pytest.raises(TooShort):
        det.detect_text("Hi")  # one token: nothing has a context


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", InvalidInput),
        ("   \n", InvalidInput),
        (b"\xff\xfe not utf-8", InvalidInput),
        ("x" * 2_000_001, PayloadTooLarge),
    ],
)
def test_bad_input_gets_typed_errors(
    tiny_lm: LanguageModel, ring: KeyRing, text: str | bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        detector(tiny_lm, ring, max_chars=2_000_000).detect_text(text)


def test_ten_megabyte_paste_is_refused_before_tokenising(tiny_lm: LanguageModel, ring: KeyRing) -> None:
    with pytest.raises(PayloadTooLarge, match="limit"):
        detector(tiny_lm, ring).detect_text("a" * 10_000_000)


def test_special_tokens_are_not_scored(tiny_lm: LanguageModel) -> None:
    ring = KeyRing([make_key("k")])
    det = detector(tiny_lm, ring)
    special = tiny_lm.tokenizer.all_special_ids
    ids = np.array([special[0]] * 50 + list(range(1000, 1100)), dtype=np.int64)
    d = det.detect_ids(ids)[0]
    assert d.tokens_scored <= 100


def test_invisible_characters_and_homoglyphs_do_not_hide_the_mark(tiny_lm: LanguageModel, ring: KeyRing) -> None:
    scheme = scheme_for_key(ring.active, vocab_size=tiny_lm.vocab_size)
    text = generate(tiny_lm, "Write a paragraph.", scheme=scheme, max_new_tokens=120, seed=4)[0].text
    attacked = "\u200b".join(text)  # a zero-width space between every character
    det = detector(tiny_lm, ring)
    clean = det.detect_text(text)[0]
    assert clean.normalization is None
    best = det.detect_text(attacked)[0]
    assert best.key_id == "new" and best.detected
    assert best.normalization is not None and best.normalization["invisible_removed"] == len(text) - 1
    for span in best.spans:
        assert 0 <= span.start < span.end <= len(attacked)
