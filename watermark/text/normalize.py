"""Unicode normalisation before text scoring, with a map back to the original characters.

Evasion by invisible characters or look-alike letters changes the tokens a detector sees without
changing what a reader sees. :func:`normalize_text` removes format and other invisible characters
(zero-width spaces and joiners, soft hyphens, bidi controls, variation selectors, tag characters),
applies NFKC compatibility mapping character by character (full-width letters, ligatures,
non-breaking spaces), and folds Cyrillic and Greek look-alikes to Latin inside words that also
contain Latin letters, and in words made only of look-alikes (the English article "a" written
as Cyrillic "а") when the nearest real words on both sides are Latin; a word with a letter that
has no Latin look-alike is genuine Cyrillic or Greek and left alone, and so are its neighbours.
It records how many characters each step changed (itself a signal of evasion) and, for every
output character, the index of the input character it came from, so spans found on the
normalised text are reported on the original.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["NormalizedText", "normalize_text"]

_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)

# Cyrillic and Greek letters that render like Latin ones.
_HOMOGLYPHS = str.maketrans(
    "АВЕКМНОРСТХУаеорсухіјѕԁһԛԝӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧον",
    "ABEKMHOPCTXYaeopcyxijsdhqwlABEZHIKMNOPTYXov",
)
_CONFUSABLE = frozenset("АВЕКМНОРСТХУаеорсухіјѕԁһԛԝӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧον")
_WORD = re.compile(r"\w+")
_LATIN = re.compile(r"[A-Za-z]")


def _word_kind(word: str) -> str:
    """``latin`` (a Latin letter, no letter foreign to Latin), ``foreign`` (a Cyrillic/Greek/other
    letter with no Latin look-alike), or ``ambiguous`` (only look-alikes and non-letters)."""
    if any(c.isalpha() and not c.isascii() and c not in _CONFUSABLE for c in word):
        return "foreign"
    return "latin" if _LATIN.search(word) else "ambiguous"


def _invisible(ch: str) -> bool:
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in _INVISIBLE_RANGES):
        return True
    return unicodedata.category(ch) == "Cf"


@dataclass(frozen=True)
class NormalizedText:
    """A normalised text, what changed, and where each character came from.

    Attributes:
        text: the normalised text.
        source: ``(len(text) + 1,)`` index into the original of each character; the last entry
            is the original's length.
    """

    text: str
    source: npt.NDArray[np.int64]
    invisible_removed: int
    compatibility_mapped: int
    homoglyphs_folded: int
    spelling_restored: int = 0  # words (AI-likelihood scoring only: :mod:`detect.spelling`)

    @property
    def changed(self) -> bool:
        """Whether normalisation changed anything."""
        return bool(
            self.invisible_removed or self.compatibility_mapped or self.homoglyphs_folded or self.spelling_restored
        )

    def original_offsets(self, offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Map ``(..., 2)`` ``[start, end)`` ranges in the normalised text to the original."""
        starts = self.source[offsets[..., 0]]
        last = self.source[np.maximum(offsets[..., 1] - 1, 0)] + 1
        ends = np.where(offsets[..., 1] > offsets[..., 0], np.maximum(last, starts), starts)  # empty stays empty
        return np.stack([starts, ends], axis=-1)

    def changes(self) -> dict[str, int]:
        """Counts per kind of change, for reports."""
        out = {
            "invisible_removed": self.invisible_removed,
            "compatibility_mapped": self.compatibility_mapped,
            "homoglyphs_folded": self.homoglyphs_folded,
        }
        if self.spelling_restored:  # words; only AI-likelihood scoring restores spelling
            out["spelling_restored"] = self.spelling_restored
        return out


def normalize_text(text: str) -> NormalizedText:
    """Normalise ``text`` for scoring (see the module docstring)."""
    kept = [(ch, i) for i, ch in enumerate(text) if not _invisible(ch)]
    invisible = len(text) - len(kept)
    chars = [c for c, _ in kept]
    folded = 0
    joined = "".join(chars)
    words = [m for m in _WORD.finditer(joined) if any(c.isalpha() for c in m.group())]
    kinds = [_word_kind(m.group()) for m in words]
    for k, m in enumerate(words):
        if kinds[k] == "ambiguous":
            before = next((kinds[j] for j in range(k - 1, -1, -1) if kinds[j] != "ambiguous"), None)
            after = next((kinds[j] for j in range(k + 1, len(kinds)) if kinds[j] != "ambiguous"), None)
            sides = {x for x in (before, after) if x is not None}
            if sides != {"latin"}:
                continue
        elif kinds[k] != "latin" or not any(c in _CONFUSABLE for c in m.group()):
            continue
        for j in range(m.start(), m.end()):
            if chars[j] in _CONFUSABLE:
                chars[j] = chars[j].translate(_HOMOGLYPHS)
                folded += 1
    out: list[str] = []
    source: list[int] = []
    mapped = 0
    for ch, (_, src) in zip(chars, kept, strict=True):
        n = unicodedata.normalize("NFKC", ch) if not ch.isascii() else ch
        if n != ch:
            mapped += 1
        out.append(n)
        source.extend([src] * len(n))
    source.append(len(text))
    return NormalizedText("".join(out), np.asarray(source, dtype=np.int64), invisible, mapped, folded)
