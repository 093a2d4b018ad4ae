"""Spelling restoration before AI-likelihood scoring (detect/spelling.py), with the real dictionary."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from detect.calibration import HumanReference, build_reference
from detect.cross_model import ScoredText
from detect.features import score_tokens
from detect.spelling import SPELLING, SpellingRestorer
from detect.text import Screen, TextAIDetector
from detect.training import in_calibration_half
from detect.verdict import assemble
from watermark.errors import ConfigurationError
from watermark.text.model import LanguageModel
from watermark.text.normalize import normalize_text

REPO = Path(__file__).resolve().parents[2]
JARGON = [json.loads(line)["text"] for line in (REPO / "eval" / "data" / "human_jargon.jsonl").read_text().splitlines()]
PLAIN = SpellingRestorer(frozenset())  # the dictionary alone


def test_misspelt_words_are_restored_and_mapped_back_to_the_original() -> None:
    original = "Ｔhe goverment anounced a new polciy on Tuesday; Smiht's office said NASA agrees."
    norm = PLAIN.restore(normalize_text(original))
    assert norm.text == "The government announced a new policy on Tuesday; Smiht's office said NASA agrees."
    assert norm.spelling_restored == 3 and norm.changes()["spelling_restored"] == 3
    assert norm.compatibility_mapped == 1  # the full-width letter, normalised before
    for word, was in (("government", "goverment"), ("announced", "anounced"), ("policy", "polciy")):
        at = norm.text.index(word)
        span = norm.original_offsets(np.array([at, at + len(word)]))
        assert original[span[0] : span[1]] == was
    assert len(norm.source) == len(norm.text) + 1 and norm.source[-1] == len(original)


def test_names_acronyms_contractions_known_and_short_words_stay() -> None:
    text = "Mr Dutton's NASA team didn't say tge favorite tumor was etc."
    assert PLAIN.correction("favorite") == "favourite"  # the dictionary alone is British
    with_model = SpellingRestorer(frozenset({"favorite", "tumor"}))
    out = with_model.restore(normalize_text(text))
    assert out.text == "Mr Dutton's NASA team didn't say the favorite tumor was etc."
    assert with_model.restore(normalize_text("All words here are fine.")).spelling_restored == 0
    assert normalize_text("All words here are fine.").changes() == {
        "invisible_removed": 0,
        "compatibility_mapped": 0,
        "homoglyphs_folded": 0,
    }


def test_the_scoring_model_s_whole_words_are_known(tokenizer: Any) -> None:
    restorer = SpellingRestorer.for_tokenizer(tokenizer)
    assert {"favorite", "tumor", "neighborhood", "apnea"} <= restorer.known
    assert restorer.correction("favorite") is None and restorer.correction("goverment") == "government"


def test_letter_edits_are_mostly_undone() -> None:
    """3 % of letters replaced at random (the benchmark's attack) on human paragraphs: most
    damaged words come back exactly."""
    rng = random.Random(3)
    damaged = fixed = 0
    for text in JARGON[:40]:
        edited = "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz") if c.isalpha() and rng.random() < 0.03 else c for c in text
        )
        restored = PLAIN.restore(normalize_text(edited)).text
        for a, b, c in zip(text.split(), edited.split(), restored.split(), strict=False):
            if a != b and a.isalpha() and a.islower() and len(a) >= 3:
                damaged += 1
                fixed += a == c
    assert damaged > 100 and fixed / damaged > 0.6


def _reference(lm: LanguageModel, restorer: SpellingRestorer | None) -> HumanReference:
    human = [t[:500] for t in JARGON if in_calibration_half(t)][:24]
    if restorer is not None:
        human = [n.text for n in restorer.restore_all([normalize_text(t) for t in human])]
    ref = build_reference(
        lm.name, [ScoredText(s) for s in score_tokens(lm, human)], spelling=SPELLING if restorer else None
    )
    return dataclasses.replace(ref, min_size=20)


@pytest.fixture(scope="module")
def references(tiny_lm: LanguageModel) -> tuple[HumanReference, HumanReference]:
    """24 human paragraphs scored by the tiny model: with restoration, and without."""
    return _reference(tiny_lm, SpellingRestorer.for_tokenizer(tiny_lm.tokenizer)), _reference(tiny_lm, None)


def test_a_reference_built_with_restoration_makes_the_detector_restore(
    tiny_lm: LanguageModel, references: tuple[HumanReference, HumanReference]
) -> None:
    restorer = SpellingRestorer.for_tokenizer(tiny_lm.tokenizer)
    ref, unrestored = references
    assert HumanReference.from_json(ref.to_json()).spelling == SPELLING
    assert "spelling" not in json.loads(unrestored.to_json())  # old files keep their meaning
    text = next(t for t in JARGON if not in_calibration_half(t))
    words = text.split()
    i = next(k for k, w in enumerate(words) if w.isalpha() and w.islower() and len(w) >= 6)
    edited = " ".join([*words[:i], words[i][:2] + words[i][3:], *words[i + 1 :]])  # a letter dropped
    restoring = TextAIDetector(tiny_lm, ref, fpr=0.05).score(edited)
    before = restorer.restore(normalize_text(text)).spelling_restored  # jargon has words of its own
    assert restoring.normalized == {"spelling_restored": before + 1}
    words = "1 misspelt word was" if before == 0 else f"{before + 1} misspelt words were"
    assert f"{words} read as the dictionary word one letter away" in restoring.finding().meaning
    report = assemble(content_type="text/plain", content_sha256="0" * 64, ai_likelihood=restoring.finding())
    counted = "1 misspelt word" if before == 0 else f"{before + 1} misspelt words"
    assert f"  {counted} read as the dictionary word one letter away before scoring" in report.details
    # the statistic of the restored text, exactly as the reference's texts were scored
    expected = ref.p_value_of(ScoredText(score_tokens(tiny_lm, [restorer.restore(normalize_text(edited)).text])[0]))
    assert expected is not None and restoring.score == pytest.approx(expected[0], abs=1e-9)
    plain = TextAIDetector(tiny_lm, unrestored, fpr=0.05).score(edited)
    assert plain.normalized == {}


def test_references_that_restore_differently_are_refused(
    tiny_lm: LanguageModel, references: tuple[HumanReference, HumanReference]
) -> None:
    restoring, plain = references
    cross = dataclasses.replace(restoring, second_model=tiny_lm.name, combination=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="restore spelling alike"):
        TextAIDetector(tiny_lm, cross, second=tiny_lm, screen=Screen(plain, 0.25))
    with pytest.raises(ConfigurationError, match="does not know"):
        TextAIDetector(tiny_lm, dataclasses.replace(restoring, spelling="another-dictionary"))
