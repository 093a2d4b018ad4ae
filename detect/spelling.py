"""Spelling restoration before AI-likelihood scoring: letter edits must not hide machine text.

A few random letter edits (3 % of letters) turn about one word in eight into a string no language
model expects, and the text's surprise then looks human: both zero-shot statistics fall to
nothing. :func:`restore_spelling` puts such words back. A word is *unknown* when it is in neither
SymSpell's English frequency dictionary (82,765 words, bundled with ``symspellpy``, MIT) nor the
scoring model's own vocabulary as one whole word (American spellings, medical terms, brand names).
How an unknown word is restored is a named :class:`Restoration`:

- ``symspell-en-82765-d1`` (the first): a lower-case word of three letters or more becomes the
  most frequent dictionary word one edit away (a letter replaced, added, removed or two swapped);
  capitalised words, two-letter words and words with an apostrophe stay.
- ``symspell-en-82765-d2c`` (the second): as the first, and also a *capitalised* word that opens
  a sentence and whose lower-case form is unknown (an edit to a sentence's first word; a capital
  inside a sentence marks a name, which stays), restored in lower case and capitalised again; a
  *two-letter* word that is neither one of the dictionary's 36 nor a common abbreviation or unit
  (:data:`TWO_LETTER`), read as the most frequent dictionary two-letter word one letter away
  (``oy`` -> ``of``); and a word of six letters or more with nothing one edit away, read as the
  most frequent word *two* edits away whose length is within one letter of it. On 200 ChatGPT
  texts under 3 % random letter edits, the edited words left broken fall from 28 % to 13 %
  (``docs/figures.md``).
- ``symspell-en-82765-d2c-bigrams`` (the current): the same words as the second, each read as
  the one of its closest dictionary words that its neighbours make likeliest, by the bigram
  counts bundled with ``symspellpy`` (242,342 word pairs): the previous word as restored and the
  next word as written, where only spaces stand between (Stupid Backoff to the word's own count
  where a pair is not listed), not simply the most frequent (``spinal aord`` -> ``cord``, not
  ``word``); and a lower-case word restored where a sentence opens is capitalised (a random edit
  to a capital leaves a lower-case letter). On the same kind of texts the edited words restored
  exactly rise from 75 % to 79 % (``eval/restoration_counts.py``).

Words in capitals (acronyms) and words with an apostrophe are always left alone.

Restoration is part of the statistic: a human reference says which restoration its texts went
through (:attr:`detect.calibration.HumanReference.spelling`), and a text is restored exactly as
the reference it is compared with was, so the conformal p-value stays exact; a reference built
with an earlier restoration keeps it. Each restored character keeps the index of the original
character it replaced (a longer word maps its extra letters to its last one), so spans are still
reported on the original text.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np

from watermark.text.normalize import NormalizedText, normalize_text

__all__ = [
    "RESTORATIONS",
    "SPELLING",
    "TWO_LETTER",
    "WORD",
    "Restoration",
    "SpellingRestorer",
    "prepare",
    "restore_spelling",
    "whole_words",
]

WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_LOCK = threading.Lock()

# Two-letter words that are English as they stand though the dictionary lacks them: units,
# abbreviations and interjections of ordinary prose.
TWO_LETTER = frozenset(
    "ad ah ax cm dr eg et ex ft ha ie iv km kg lb lo ma mg ml mm mr ms nm ok oh ox oz pa tv uk vi vs ye".split()  # noqa: SIM905
)


@dataclasses.dataclass(frozen=True)
class Restoration:
    """Which unknown words are restored, and how far a replacement may be (see the module docstring)."""

    name: str
    capitalised: bool  # capitalised words that open a sentence, restored in lower case and capitalised again
    two_letter: bool  # two-letter words outside the dictionary and TWO_LETTER
    far_from: int | None  # words of this many letters or more may be two edits from their replacement
    context: bool = False  # the closest word the neighbours make likeliest; sentence openings capitalised


RESTORATIONS = {
    r.name: r
    for r in (
        Restoration("symspell-en-82765-d1", capitalised=False, two_letter=False, far_from=None),
        Restoration("symspell-en-82765-d2c", capitalised=True, two_letter=True, far_from=6),
        Restoration("symspell-en-82765-d2c-bigrams", capitalised=True, two_letter=True, far_from=6, context=True),
    )
}
SPELLING = "symspell-en-82765-d2c-bigrams"  # what references are built with now


@lru_cache(maxsize=1)
def _dictionary() -> Any:
    """SymSpell over the bundled English dictionary, with every word's deletes up to two edits,
    built once per process (~3 s and ~135 MB, against ~0.8 s and ~67 MB for one edit): lookups
    one edit away find what a one-edit dictionary finds."""
    from symspellpy import SymSpell

    sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    path = files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    if not sym.load_dictionary(str(path), term_index=0, count_index=1, encoding="utf-8"):
        raise RuntimeError(f"cannot read the spelling dictionary {path}")
    return sym


@lru_cache(maxsize=1)
def _bigrams() -> dict[str, int]:
    """The word-pair counts bundled with ``symspellpy`` (``"of the" -> count``), read once per
    process (~0.1 s, ~60 MB)."""
    path = files("symspellpy") / "frequency_bigramdictionary_en_243_342.txt"
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        first, second, count = line.split(" ")
        pairs[f"{first} {second}"] = int(count)
    return pairs


@lru_cache(maxsize=1)
def _word_total() -> int:
    """The dictionary's words counted together (the denominator of a word's own frequency)."""
    return sum(_dictionary().words.values())


BACKOFF = 0.4  # Stupid Backoff's factor for a pair the bigram counts do not list


def _in_context(found: list[tuple[str, int]], previous: str | None, following: str | None) -> str:
    """The candidate (``found``: word and count, most frequent first) whose neighbours make it
    likeliest: log P(word | previous) + log P(following | word) by the bigram counts, backing off
    to the words' own frequencies where a pair is not listed; ties keep the more frequent."""
    unigrams, pairs, total = _dictionary().words, _bigrams(), _word_total()
    best, best_score = found[0][0], -np.inf
    for word, count in found:
        score = 0.0
        if previous is not None:
            pair, before = pairs.get(f"{previous} {word}"), unigrams.get(previous)
            score += np.log(pair / before) if pair and before else np.log(BACKOFF * count / total)
        else:
            score += np.log(count / total)
        if following is not None:
            pair = pairs.get(f"{word} {following}")
            score += np.log(pair / count) if pair else np.log(BACKOFF * unigrams.get(following, 1) / total)
        if score > best_score:
            best, best_score = word, score
    return best


def _lookup(word: str, distance: int) -> list[tuple[str, int]]:
    """Every dictionary word at the smallest edit distance from ``word`` up to ``distance``, with
    its count, most frequent first (equal counts in SymSpell's order, as its ``TOP`` lookup picks)."""
    from symspellpy import Verbosity  # loaded with the dictionary, not at import

    sym = _dictionary()
    with _LOCK:  # SymSpell's lookup is not documented as thread-safe
        found = sym.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
    return sorted(((str(f.term), int(f.count)) for f in found), key=lambda tc: -tc[1])  # ties: SymSpell's order


def whole_words(tokenizer: Any) -> frozenset[str]:
    """The words a tokenizer holds as one token after a space (``Ġword`` / ``▁word`` pieces)."""
    words = set()
    for piece in tokenizer.get_vocab():
        if piece[:1] in ("Ġ", "▁") and piece[1:].isascii() and piece[1:].isalpha():
            words.add(piece[1:])
    return frozenset(words)


@dataclasses.dataclass(frozen=True)
class SpellingRestorer:
    """Restores unknown words by one :class:`Restoration` with a model's whole-word vocabulary."""

    known: frozenset[str]
    restoration: Restoration = RESTORATIONS[SPELLING]

    @classmethod
    def loaded(cls, known: frozenset[str] = frozenset(), spelling: str = SPELLING) -> SpellingRestorer:
        """A restorer by the restoration named ``spelling`` that also knows the words ``known``,
        with the dictionary loaded now (once per process), not on the first text.

        Raises:
            KeyError: no restoration has that name.
        """
        restoration = RESTORATIONS[spelling]
        _dictionary()
        if restoration.context:
            _bigrams(), _word_total()
        return cls(known, restoration)

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, spelling: str = SPELLING) -> SpellingRestorer:
        """:meth:`loaded`, knowing the words ``tokenizer`` holds whole.

        Raises:
            KeyError: no restoration has that name.
        """
        return cls.loaded(whole_words(tokenizer), spelling)

    def knows(self, word: str) -> bool:
        """Whether ``word`` is in the dictionary or :data:`TWO_LETTER` (in lower case) or the model
        holds it whole (restorations restore unknown words; the second and the current also
        two-letter words the model holds whole but neither list has)."""
        lower = word.lower()
        return word in self.known or lower in self.known or lower in _dictionary().words or lower in TWO_LETTER

    def correction(
        self, word: str, starts_sentence: bool = False, previous: str | None = None, following: str | None = None
    ) -> str | None:
        """The word ``word`` is restored to, ``None`` where it stays (``starts_sentence``: it opens
        a sentence, where a capitalised word is not a name by its capital alone; ``previous`` and
        ``following``: the neighbouring words, lower case, where only spaces part them, which a
        restoration with :attr:`Restoration.context` chooses by)."""
        r = self.restoration
        if not word.isalpha():
            return None
        if word.islower():
            lower = word
        elif r.capitalised and starts_sentence and word[0].isupper() and word[1:].islower() and len(word) >= 3:
            lower = word.lower()
        else:
            return None
        if len(lower) == 2 and r.two_letter:
            if lower in TWO_LETTER or lower in _dictionary().words:
                return None
            found = [(t, c) for t, c in _lookup(lower, 1) if len(t) == 2]
        elif len(lower) < 3 or self.knows(word):
            return None
        else:
            found = _lookup(lower, 1)
            if not found and r.far_from is not None and len(lower) >= r.far_from:
                found = [(t, c) for t, c in _lookup(lower, 2) if abs(len(t) - len(lower)) <= 1]
        if not found or found[0][0] == lower:
            return None
        chosen = _in_context(found, previous, following) if r.context else found[0][0]
        return chosen.capitalize() if not word.islower() or (r.context and starts_sentence) else chosen

    def restore(self, norm: NormalizedText) -> NormalizedText:
        """``norm`` with its unknown words restored, the count in ``spelling_restored``."""
        return restore_spelling(norm, self.correction, every_opening=self.restoration.context)

    def restore_all(self, texts: Iterable[NormalizedText]) -> list[NormalizedText]:
        """:meth:`restore` of each."""
        return [self.restore(t) for t in texts]


def prepare(texts: Sequence[str], restorer: SpellingRestorer | None) -> list[NormalizedText]:
    """The texts as the AI-likelihood scores them: Unicode-normalised and, with a ``restorer``,
    their spelling restored."""
    normalized = [normalize_text(t) for t in texts]
    return restorer.restore_all(normalized) if restorer is not None else normalized


def _starts_sentence(text: str, at: int) -> bool:
    """Whether the word at ``at`` opens the text, a line or a sentence (after ``.``, ``!`` or
    ``?``, spaces and quotes); a bounded look-back keeps long texts linear."""
    before = text[max(0, at - 16) : at].rstrip(" \t\"'“‘([")
    return at <= 16 if not before else before[-1] in ".!?\n"


def restore_spelling(
    norm: NormalizedText,
    correction: Callable[[str, bool, str | None, str | None], str | None],
    every_opening: bool = False,
) -> NormalizedText:
    """``norm`` with each word that ``correction(word, starts_sentence, previous, following)``
    gives a replacement for replaced, and the character map to the original kept (see the module
    docstring). A word is told whether it opens a sentence where it is capitalised (any word with
    ``every_opening``); its neighbours, lower case, where only spaces part them, the previous one
    as restored."""
    text = norm.text
    pieces: list[str] = []
    source: list[np.ndarray] = []
    at = restored = 0
    words = list(WORD.finditer(text))
    previous: str | None = None  # the previous word as restored
    for i, m in enumerate(words):
        a, b = m.span()
        word = m.group()
        before = previous if i and not text[words[i - 1].end() : a].strip(" ") else None
        after = (
            words[i + 1].group().lower()
            if i + 1 < len(words) and not text[b : words[i + 1].start()].strip(" ")
            else None
        )
        opens = (every_opening or word[0].isupper()) and _starts_sentence(text, a)
        new = correction(word, opens, before, after)
        previous = (word if new is None else new).lower()
        if new is None:
            continue
        pieces += [text[at:a], new]
        source += [norm.source[at:a], norm.source[a + np.minimum(np.arange(len(new)), b - a - 1)]]
        at = b
        restored += 1
    if not restored:
        return norm
    pieces.append(text[at:])
    source.append(norm.source[at:])  # includes the final entry (the original's length)
    return dataclasses.replace(
        norm, text="".join(pieces), source=np.concatenate(source).astype(np.int64), spelling_restored=restored
    )
