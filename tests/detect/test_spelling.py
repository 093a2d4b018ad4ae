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
from detect.spelling import RESTORATIONS, SPELLING, SpellingRestorer
from detect.text import Screen, TextAIDetector
from detect.training import in_calibration_half
from detect.verdict import assemble
from watermark.errors import ConfigurationError
from watermark.text.model import LanguageModel
from watermark.text.normalize import normalize_text

REPO = Path(__file__).resolve().parents[2]
JARGON = [json.loads(line)["text"] for line in (REPO / "eval" / "data" / "human_jargon.jsonl").read_text().splitlines()]
PLAIN = SpellingRestorer(frozenset())  # the dictionary alone
FIRST = SpellingRestorer(frozenset(), RESTORATIONS["symspell-en-82765-d1"])  # the first restoration
SECOND = SpellingRestorer(frozenset(), RESTORATIONS["symspell-en-82765-d2c"])  # the most frequent closest word


def _edited(text: str, rng: random.Random) -> str:
    """3 % of letters replaced at random (the benchmark's attack)."""
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") if c.isalpha() and rng.random() < 0.03 else c for c in text)


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


def test_capitals_two_letter_words_and_words_two_edits_away_are_restored_now() -> None:
    text = "Thw report, filed at 9 pm, said oy the 5 mg dose vs placebo: geszarch on Londn's NASA data."
    out = SECOND.restore(normalize_text(text))
    assert out.text == "The report, filed at 9 pm, said of the 5 mg dose vs placebo: research on Londn's NASA data."
    assert out.spelling_restored == 3
    assert PLAIN.restore(normalize_text(text)).text == out.text.replace("said of", "said on")  # by its neighbours
    # a capital opening a sentence is restored, one inside a sentence marks a name
    assert PLAIN.correction("Teh", True) == "The" and PLAIN.correction("Teh") is None
    assert PLAIN.restore(normalize_text('He said so. "Hospitl staff met Kupffer."')).text == (
        'He said so. "Hospital staff met Kupffer."'
    )
    assert PLAIN.correction("Obama", True) is None and PLAIN.correction("HOSPITL", True) is None
    # the first restoration, which references built with it keep: lower-case words one edit away
    assert [FIRST.correction(w) for w in ("Thw", "oy", "geszarch", "goverment")] == [None, None, None, "government"]
    assert FIRST.restore(normalize_text(text)).spelling_restored == 0


def test_the_current_restoration_reads_a_word_by_its_neighbours() -> None:
    """Of the closest dictionary words, the one the neighbouring words make likeliest, not the most
    frequent; a lower-case word restored where a sentence opens is capitalised."""
    text = "Pain in the spinal aord. thw scan was clear."
    out = PLAIN.restore(normalize_text(text))
    assert out.text == "Pain in the spinal cord. The scan was clear."
    assert SECOND.restore(normalize_text(text)).text == "Pain in the spinal word. the scan was clear."
    assert out.original_offsets(np.array([19, 23])).tolist() == [19, 23]  # "cord" maps to "aord"
    # the neighbours are the previous word as restored and the next as written, across spaces only
    assert PLAIN.correction("aord", previous="spinal") == "cord" and PLAIN.correction("aord") == "word"
    assert PLAIN.correction("aord", previous="the", following="blood") == "cord"  # "cord blood"


def test_letter_edits_are_mostly_undone() -> None:
    """3 % of letters replaced at random (the benchmark's attack) on human paragraphs: most
    damaged words come back exactly, more of them by the current restoration than by the first."""
    rng = random.Random(3)
    damaged = 0
    fixed = {"current": 0, "second": 0, "first": 0}
    for text in JARGON[:40]:
        edited = _edited(text, rng)
        now, second, first = (r.restore(normalize_text(edited)).text.split() for r in (PLAIN, SECOND, FIRST))
        for a, b, c, d, e in zip(text.split(), edited.split(), now, second, first, strict=False):
            if a != b and a.isalpha():
                damaged += 1
                fixed["current"] += a == c
                fixed["second"] += a == d
                fixed["first"] += a == e
    assert damaged > 100 and fixed["current"] > fixed["second"] and fixed["second"] / damaged > 0.72
    assert fixed["first"] / damaged < 0.66


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
    words = (
        "1 word unknown to the dictionary was" if before == 0 else f"{before + 1} words unknown to the dictionary were"
    )
    assert f"{words} read as the nearest dictionary word" in restoring.finding().meaning
    report = assemble(content_type="text/plain", content_sha256="0" * 64, ai_likelihood=restoring.finding())
    counted = "1 word" if before == 0 else f"{before + 1} words"
    assert (
        f"  {counted} unknown to the dictionary read as the nearest one before scoring (as misspellings)"
        in report.details
    )
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


def test_a_reference_built_with_the_first_restoration_keeps_it(tiny_lm: LanguageModel) -> None:
    """A reference names its restoration, and texts compared with it go through that one."""
    ref = _reference(tiny_lm, SpellingRestorer.for_tokenizer(tiny_lm.tokenizer, "symspell-en-82765-d1"))
    ref = dataclasses.replace(ref, spelling="symspell-en-82765-d1")
    det = TextAIDetector(tiny_lm, ref)
    assert det.restorer is not None and det.restorer.restoration.name == "symspell-en-82765-d1"
    assert det.prepare(["Thw goverment said oy."])[0].text == "Thw government said oy."
    assert TextAIDetector(tiny_lm, dataclasses.replace(ref, spelling=SPELLING)).prepare(["Thw said oy."])[0].text == (
        "The said on."
    )


def test_the_restoration_count_sorts_each_edited_word() -> None:
    """``eval/restoration_counts.py`` finds each edited word in the restored text by the character map."""
    from eval.restoration_counts import outcomes

    original = "Pain in the spinal cord was gone. However, it was Fred's pain."
    edited = "Pain in the spinal aord was gone. bowever, it was Frxd's paid."
    assert outcomes(PLAIN, [original], [edited]) == {"exact": 2, "left broken": 1, "hidden": 1}
    assert outcomes(SECOND, [original], [edited]) == {"another word": 1, "case": 1, "left broken": 1, "hidden": 1}
