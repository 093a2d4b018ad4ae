"""Spelling restoration before AI-likelihood scoring: letter edits must not hide machine text.

A few random letter edits (3 % of letters) turn about one word in eight into a string no language
model expects, and the text's surprise then looks human: both zero-shot statistics fall to
nothing. :func:`restore_spelling` puts such words back. A word is *unknown* when it is in neither
SymSpell's English frequency dictionary (82,765 words, bundled with ``symspellpy``, MIT) nor the
scoring model's own vocabulary as one whole word (American spellings, medical terms, brand names);
an unknown lower-case word of three letters or more is replaced by the most frequent dictionary
word one edit away (a letter replaced, added, removed or two swapped), when there is one.
Capitalised words (names), words in capitals (acronyms) and words with an apostrophe are left
alone.

Restoration is part of the statistic: a human reference says whether its texts were restored
(:attr:`detect.calibration.HumanReference.spelling`), and a text is restored exactly when the
reference it is compared with was, so the conformal p-value stays exact. Each restored character
keeps the index of the original character it replaced (a longer word maps its extra letters to
its last one), so spans are still reported on the original text.
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

__all__ = ["SPELLING", "SpellingRestorer", "prepare", "restore_spelling", "whole_words"]

SPELLING = "symspell-en-82765-d1"  # the restoration's name in a reference (dictionary, edit distance)
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_MIN_LETTERS = 3
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _dictionary() -> Any:
    """SymSpell over the bundled English dictionary, built once per process (~4 s, ~60 MB)."""
    from symspellpy import SymSpell

    sym = SymSpell(max_dictionary_edit_distance=1, prefix_length=7)
    path = files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    if not sym.load_dictionary(str(path), term_index=0, count_index=1, encoding="utf-8"):
        raise RuntimeError(f"cannot read the spelling dictionary {path}")
    return sym


def _top() -> Any:
    from symspellpy import Verbosity  # loaded with the dictionary, not at import

    return Verbosity.TOP


def whole_words(tokenizer: Any) -> frozenset[str]:
    """The words a tokenizer holds as one token after a space (``Ġword`` / ``▁word`` pieces)."""
    words = set()
    for piece in tokenizer.get_vocab():
        if piece[:1] in ("Ġ", "▁") and piece[1:].isascii() and piece[1:].isalpha():
            words.add(piece[1:])
    return frozenset(words)


@dataclasses.dataclass(frozen=True)
class SpellingRestorer:
    """Restores unknown words (see the module docstring) with a model's whole-word vocabulary."""

    known: frozenset[str]

    @classmethod
    def for_tokenizer(cls, tokenizer: Any) -> SpellingRestorer:
        """A restorer that also knows the words ``tokenizer`` holds whole (the dictionary is
        loaded now, once per process, not on the first text)."""
        _dictionary()
        return cls(whole_words(tokenizer))

    def correction(self, word: str) -> str | None:
        """The word ``word`` is restored to, ``None`` where it stays."""
        if len(word) < _MIN_LETTERS or not word.islower() or not word.isalpha() or word in self.known:
            return None
        sym = _dictionary()
        if word in sym.words:
            return None
        with _LOCK:  # SymSpell's lookup is not documented as thread-safe
            found = sym.lookup(word, _top(), max_edit_distance=1)
        return str(found[0].term) if found and found[0].term != word else None

    def restore(self, norm: NormalizedText) -> NormalizedText:
        """``norm`` with its unknown words restored, the count in ``spelling_restored``."""
        return restore_spelling(norm, self.correction)

    def restore_all(self, texts: Iterable[NormalizedText]) -> list[NormalizedText]:
        """:meth:`restore` of each."""
        return [self.restore(t) for t in texts]


def prepare(texts: Sequence[str], restorer: SpellingRestorer | None) -> list[NormalizedText]:
    """The texts as the AI-likelihood scores them: Unicode-normalised and, with a ``restorer``,
    their spelling restored."""
    normalized = [normalize_text(t) for t in texts]
    return restorer.restore_all(normalized) if restorer is not None else normalized


def restore_spelling(norm: NormalizedText, correction: Callable[[str], str | None]) -> NormalizedText:
    """``norm`` with each word ``correction(word)`` gives a replacement for replaced, and the
    character map to the original kept (see the module docstring)."""
    text = norm.text
    pieces: list[str] = []
    source: list[np.ndarray] = []
    at = restored = 0
    for m in _WORD.finditer(text):
        new = correction(m.group())
        if new is None:
            continue
        a, b = m.span()
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
