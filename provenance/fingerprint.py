"""A privacy-preserving fingerprint of a text, to find its generation record after it was edited.

The text is reduced to words (NFKC, case-folded, letters and digits only) and its overlapping
word 3-grams (shingles) are hashed with a keyed BLAKE2b (64 bits); the fingerprint keeps the
``SKETCH_SIZE`` smallest distinct hashes (a bottom-k sketch). The text itself is never kept, and
without the key the hashes cannot be matched against a dictionary of phrases.

A bottom-k sketch is a uniform sample of the record's shingles, so the fraction of sketch
entries found among a query's shingles estimates *containment*: how much of the signed text is
still in the query, however much other text surrounds it (a generated paragraph pasted into an
article keeps containment near 1; editing 10 % of the words keeps about 70 %).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

__all__ = ["SHINGLE", "SKETCH_SIZE", "Fingerprint", "fingerprint_key", "shingle_hashes", "sketch"]

SHINGLE = 3  # words per shingle
SKETCH_SIZE = 32  # hashes a record keeps
MAX_QUERY_SHINGLES = 50_000  # a query's shingles beyond this are ignored (a ~50,000-word text)
_WORD = re.compile(r"\w+")


def fingerprint_key(secret: bytes) -> bytes:
    """The fingerprint hashing key derived from a watermark key's secret (records are looked up
    under the key their watermark names, so each key's fingerprints use their own hash key)."""
    return hmac.new(secret, b"assay/text-fingerprint/v1", hashlib.sha256).digest()[:32]


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingle_hashes(text: str, key: bytes, *, limit: int = MAX_QUERY_SHINGLES) -> np.ndarray:
    """The distinct keyed hashes (int64) of the text's word 3-grams, at most ``limit`` of them."""
    words = _words(text)
    grams = dict.fromkeys(" ".join(words[i : i + SHINGLE]) for i in range(max(0, len(words) - SHINGLE + 1)))
    values = [
        int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=8, key=key).digest(), "big", signed=True)
        for g in list(grams)[:limit]  # the first ``limit`` in reading order
    ]
    return np.unique(np.asarray(values, dtype=np.int64))


@dataclass(frozen=True)
class Fingerprint:
    """A record's bottom-k sketch and how many distinct shingles its text had."""

    hashes: tuple[int, ...]
    shingles: int


def sketch(text: str, key: bytes, size: int = SKETCH_SIZE) -> Fingerprint:
    """The record fingerprint of ``text``: its ``size`` smallest shingle hashes."""
    values = shingle_hashes(text, key)
    return Fingerprint(tuple(int(v) for v in values[:size]), int(values.size))
