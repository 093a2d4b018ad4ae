"""Detect text watermarks under every key of a key ring, with exact, corrected p-values.

For each key the scheme scores the distinct (context, token) PRF inputs of the text; the
whole-text p-value is the scheme's exact tail. When the text is long enough, a windowed scan
(:mod:`watermark.text.scan`) also looks for a marked passage inside unmarked text; the document
p-value is then ``min(1, 2 * min(p_text, p_scan))`` (Bonferroni over the two tests), and finally
``min(1, K * p)`` over the ``K`` keys tried. When Unicode normalisation
(:mod:`watermark.text.normalize`) changes a text, it is scored both as given and normalised and
``K`` doubles. A text is reported as watermarked when that p-value is
``<= alpha``; with fewer than ``min_tokens`` scored tokens the verdict is ``too-short``, never
"not watermarked".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from watermark.errors import InvalidInput, PayloadTooLarge, TooShort
from watermark.keys import KeyRing
from watermark.span import Span
from watermark.text.normalize import normalize_text
from watermark.text.scan import scan_windows
from watermark.text.scheme import IntArray, TextScheme, scheme_for_key
from watermark.text.stats import bonferroni

__all__ = ["Span", "TextDetection", "TextWatermarkDetector", "Verdict"]

Verdict = Literal["watermarked", "not-detected", "too-short"]


class Tokenizer(Protocol):
    """What the detector needs of a Hugging Face tokenizer."""

    all_special_ids: list[int]

    def __call__(self, text: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class TextDetection:
    """The result of testing one text against one key (larger z means more likely marked)."""

    scheme: str
    key_id: str
    parameters: dict[str, Any]
    tokens_scored: int
    green_count: float
    green_fraction: float
    z_score: float
    p_value: float
    p_value_text: float
    detected: bool
    verdict: Verdict
    alpha: float
    keys_tried: int
    windows_tested: int
    spans: tuple[Span, ...] = field(default=())
    normalization: dict[str, int] | None = None  # set when Unicode normalisation changed the text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (no secret is ever part of a detection)."""
        d = asdict(self)
        d["spans"] = [asdict(s) for s in self.spans]
        return d


class TextWatermarkDetector:
    """Tests texts or token ids against every scheme (key) it holds."""

    def __init__(
        self,
        *,
        schemes: Sequence[TextScheme],
        tokenizer: Tokenizer | None = None,
        alpha: float = 1e-3,
        min_tokens: int = 16,
        min_window: int = 32,
        max_chars: int = 1_000_000,
    ) -> None:
        if not schemes:
            raise ValueError("`schemes` has to hold at least one scheme")
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"`alpha` has to be in (0, 1), but is {alpha}")
        if not (isinstance(min_tokens, int) and min_tokens >= 1):
            raise ValueError(f"`min_tokens` has to be an int >= 1, but is {min_tokens}")
        if not (isinstance(min_window, int) and min_window >= 8):
            raise ValueError(f"`min_window` has to be an int >= 8, but is {min_window}")
        if not (isinstance(max_chars, int) and max_chars >= 1):
            raise ValueError(f"`max_chars` has to be an int >= 1, but is {max_chars}")
        self.schemes = tuple(schemes)
        self.tokenizer = tokenizer
        self.alpha = alpha
        self.min_tokens = min_tokens
        self.min_window = min_window
        self.max_chars = max_chars
        self._skip = frozenset(tokenizer.all_special_ids) if tokenizer is not None else frozenset()

    @classmethod
    def from_keyring(
        cls, keyring: KeyRing, *, vocab_size: int, tokenizer: Tokenizer | None = None, **kwargs: Any
    ) -> TextWatermarkDetector:
        """A detector for every text key of the ring, bound to a vocabulary of ``vocab_size``."""
        return cls(schemes=[scheme_for_key(k, vocab_size=vocab_size) for k in keyring], tokenizer=tokenizer, **kwargs)

    def restricted_to(self, key_id: str) -> TextWatermarkDetector:
        """The same detector with only the schemes of ``key_id`` (no correction for the others)."""
        return TextWatermarkDetector(
            schemes=[s for s in self.schemes if s.key_id == key_id],
            tokenizer=self.tokenizer,
            alpha=self.alpha,
            min_tokens=self.min_tokens,
            min_window=self.min_window,
            max_chars=self.max_chars,
        )

    def detect_text(self, text: str | bytes) -> list[TextDetection]:
        """Re-tokenise ``text`` and test it under every key; best (smallest p) first.

        Raises:
            InvalidInput: empty text, or bytes that are not UTF-8.
            PayloadTooLarge: more than ``max_chars`` characters.
            TooShort: the text has no token that could be scored.
        """
        if self.tokenizer is None:
            raise InvalidInput("this detector has no tokenizer; detect token ids instead")
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"text is not valid UTF-8 (byte {exc.start})") from None
        if not isinstance(text, str):
            raise InvalidInput("text must be a string")
        if len(text) > self.max_chars:
            raise PayloadTooLarge(f"text has {len(text)} characters; the limit is {self.max_chars}")
        if not text.strip():
            raise InvalidInput("text is empty")
        norm = normalize_text(text)
        if not norm.changed:
            ids, offsets = self._encode(text)
            return self.detect_ids(ids, char_offsets=offsets)
        # Score the text as given and as normalised (two tests per key: Bonferroni x2), and keep
        # per key the variant with more evidence. Spans are mapped back to the original text.
        raw = self._detect_all(*self._encode(text), variants=2)
        ids, offsets = self._encode(norm.text)
        normalised = self._detect_all(ids, norm.original_offsets(offsets), variants=2)
        changes = norm.changes()
        best = [
            replace(b, normalization=changes) if b.p_value < a.p_value else replace(a, normalization=changes)
            for a, b in zip(raw, normalised, strict=True)
        ]
        return self._finish(best)

    def _encode(self, text: str) -> tuple[IntArray, npt.NDArray[np.int64]]:
        assert self.tokenizer is not None
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
        return np.asarray(enc["input_ids"], dtype=np.int64), offsets

    def detect_ids(
        self, ids: Sequence[int] | IntArray, *, char_offsets: npt.NDArray[np.int64] | None = None
    ) -> list[TextDetection]:
        """Test token ids (the generated part only, no prompt) under every key; best first.

        Args:
            ids: ``(L,)`` token ids.
            char_offsets: ``(L, 2)`` character ranges of the tokens, to report spans in characters.

        Raises:
            TooShort: no token could be scored.
        """
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        return self._finish(self._detect_all(arr, char_offsets, variants=1))

    def _detect_all(
        self, ids: IntArray, offsets: npt.NDArray[np.int64] | None, *, variants: int
    ) -> list[TextDetection]:
        if ids.size == 0:
            raise TooShort("no tokens to score")
        return [self._detect_one(s, ids, offsets, variants) for s in self.schemes]

    @staticmethod
    def _finish(results: list[TextDetection]) -> list[TextDetection]:
        if all(r.tokens_scored == 0 for r in results):
            raise TooShort("too short to decide: no token has a full context")
        return sorted(results, key=lambda r: (r.p_value, -r.z_score))

    def _detect_one(
        self, scheme: TextScheme, ids: IntArray, offsets: npt.NDArray[np.int64] | None, variants: int
    ) -> TextDetection:
        pos = scheme.score_tokens(ids, skip_ids=self._skip)
        where = np.flatnonzero(pos.scored)
        values = pos.values[where]
        trials = pos.trial_counts()[where]
        n = int(where.size)
        total = float(values.sum())
        p_text = float(scheme.pvalue(total, trials.sum()))
        z = float(scheme.zscore(total, trials.sum()))
        keys = len(self.schemes) * variants  # tests per document: keys x text variants
        # Spans are shown only where they alone would make the document detected.
        scan = scan_windows(
            values,
            scheme.pvalue,
            null_mean=scheme.null_mean,
            alpha=self.alpha / (2 * keys),
            min_window=self.min_window,
            trials=None if pos.trials is None else trials,
        )
        p_doc = bonferroni(min(p_text, scan.p_value), 2) if scan.windows else p_text
        p_final = bonferroni(p_doc, keys)
        spans: list[Span] = []
        for ts in scan.spans:
            t0, t1 = int(where[ts.first]), int(where[ts.last]) + 1
            c0, c1 = (int(offsets[t0, 0]), int(offsets[t1 - 1, 1])) if offsets is not None else (t0, t1)
            p_span = bonferroni(ts.p_value, 2 * keys)
            spans.append(Span(c0, c1, t0, t1, ts.tokens_scored, p_span, green_fraction=ts.score_sum / ts.trials))
        if n < self.min_tokens:
            verdict: Verdict = "too-short"
        else:
            verdict = "watermarked" if p_final <= self.alpha else "not-detected"
        return TextDetection(
            scheme=scheme.name,
            key_id=scheme.key_id,
            parameters=scheme.parameters(),
            tokens_scored=n,
            green_count=total,
            green_fraction=total / float(trials.sum()) if n else 0.0,
            z_score=z,
            p_value=p_final,
            p_value_text=p_text,
            detected=verdict == "watermarked",
            verdict=verdict,
            alpha=self.alpha,
            keys_tried=len(self.schemes),
            windows_tested=scan.windows,
            spans=tuple(spans),
        )
