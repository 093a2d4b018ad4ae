"""AI-likelihood of a text without a watermark: a conformal p-value against human text, abstaining honestly.

The statistic is the one the human reference was built with: ``cross_model``, a fitted
combination of per-character statistics under the embedded model and the second offline model
(:mod:`detect.cross_model`), or ``log_likelihood``, the mean log-likelihood under the embedded
model alone; its p-value comes from :class:`HumanReference`, and the report names the statistic. A trained
classifier, when given, adds a calibrated probability that corroborates but never decides.

A two-model detector may take a :class:`Screen`: the embedded model's own test first, and the
second model only for texts it does not already find typical of human writing. A text whose
single-model p-value exceeds ``Screen.above`` gets that p-value and the verdict ``no-evidence``;
every other text gets the two-model test. The detector flags a text only when the two-model
p-value is at most ``fpr``, so for human text ``P(flag) <= P(p_two <= fpr) <= fpr``: the screen
keeps the false-positive guarantee exactly, and can only miss machine text the embedded model
alone places above ``above`` (``eval/detection.py`` measures how much).
The detector abstains (verdict ``inconclusive``) when the text is too short, not English, or
looks like code or a list, because the reference says nothing about such text.

With :class:`detect.groups.Groups` each text is first routed by its sentence embedding; a text
routed to a named group (a genre with its own human texts, such as scripture) is judged against
that group's references and screen instead of the pooled ones, and the report names the group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from watermark.errors import ConfigurationError
from watermark.span import Span
from watermark.text.model import LanguageModel
from watermark.text.normalize import NormalizedText

from .calibration import WINDOW, ConformalResult, HumanReference
from .cross_model import CROSS_FEATURES, ScoredText, score_texts, span_features, with_second
from .embeddings import SentenceEmbedder, shared_embedder
from .features import DEFAULT_MAX_TOKENS, TextFeatures, aggregate
from .groups import POOLED, Groups
from .report import AiLikelihoodFinding
from .spelling import RESTORATIONS, SpellingRestorer, prepare

__all__ = ["DEFAULT_FPR", "DEFAULT_SCREEN", "MIN_TOKENS", "AiLikelihood", "Screen", "TextAIDetector", "abstain_reason"]

DEFAULT_FPR = 0.01
DEFAULT_SCREEN = 0.25  # the service's ``ai_screen``: chosen from eval/results/detection.md's screen table
MIN_TOKENS = 32
_STOPWORD_TEXT = (
    "the of and to a in is that it for was on as with be by he his at this from i not are or have an they "
    "which but you were her she had their we all one there been has would its so if more will who can when "
    "no said what"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_BULLET = re.compile(r"^\s*(?:[-*•‣▪]|\d+[.)]|[a-zA-Z][.)])\s+")
_CODE_CHARS = set("{}[]();=<>_#$\\|`")


def abstain_reason(text: str) -> str | None:
    """Why a text is outside what the human reference covers, or ``None``.

    Not English: fewer than 8 % of its words are common English function words, or fewer than
    85 % of its letters are ASCII. Code: more than 6 % of its characters are code punctuation, or
    many lines end in ``;``/``{``/``}``. A list: at least 3 lines and more than half of them bullets.
    """
    letters = [c for c in text if c.isalpha()]
    words = re.findall(r"[A-Za-z']+", text.lower())
    if letters and sum(c.isascii() for c in letters) / len(letters) < 0.85:
        return "not-english"
    if words and sum(w in _STOPWORDS for w in words) / len(words) < 0.08:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not _looks_like_code(text, lines):
            return "not-english"
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if _looks_like_code(text, lines):
        return "code"
    if len(lines) >= 3 and sum(bool(_BULLET.match(ln)) for ln in lines) / len(lines) > 0.5:
        return "list"
    return None


def _looks_like_code(text: str, lines: Sequence[str]) -> bool:
    if not text:
        return False
    punct = sum(c in _CODE_CHARS for c in text) / len(text)
    ends = sum(ln.rstrip().endswith((";", "{", "}", ":")) for ln in lines) / max(len(lines), 1)
    return punct > 0.06 or (len(lines) >= 3 and ends > 0.5)


@dataclass(frozen=True)
class AiLikelihood:
    """The statistical verdict on a text (see module docstring)."""

    verdict: str  # "ai" | "no-evidence" | "inconclusive"
    fpr: float
    tokens: int
    p_value: float | None = None
    statistic: str = "log_likelihood"
    score: float | None = None
    standardized_score: float | None = None
    bucket: int | None = None
    reference_size: int | None = None
    reference_sources: dict[str, int] = field(default_factory=dict)
    abstain_reason: str | None = None
    classifier_probability: float | None = None
    normalized: dict[str, int] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    spans: tuple[Span, ...] = ()
    screened_above: float | None = None
    group: str | None = None  # the named group (detect.groups) whose reference decided, if any
    group_description: str | None = None

    @property
    def reference_group(self) -> str | None:
        """The named group the text was routed to, else ``pooled`` where the reference holds human
        texts of several named sources in one."""
        if self.group is not None:
            return self.group
        return POOLED if len(self.reference_sources) > 1 else None

    def finding(self) -> AiLikelihoodFinding:
        """The typed finding for the report."""
        return AiLikelihoodFinding(
            verdict=self.verdict,  # type: ignore[arg-type]
            detected=self.verdict == "ai",
            p_value=self.p_value,
            decided_at_fpr=self.fpr,
            statistic=self.statistic,
            score=self.score,
            standardized_score=self.standardized_score,
            tokens=self.tokens,
            length_bucket=self.bucket,
            reference_size=self.reference_size,
            reference_group=self.reference_group,
            reference_group_description=self.group_description,
            reference_sources=self.reference_sources,
            abstain_reason=self.abstain_reason,
            classifier_probability=self.classifier_probability,
            normalization=self.normalized,
            features=self.features,
            spans=self.spans,
            screened_above=self.screened_above,
            meaning=_meaning(self),
        )


STATISTIC_WORDS = {
    "cross_model": "the two-model statistic (how predictable the wording is to one offline language model, "
    "against how predictable the other expects text like it to be)",
    "log_likelihood": "how predictable the wording is to the embedded language model",
}


def _meaning(r: AiLikelihood) -> str:
    if r.verdict == "inconclusive":
        return f"Not decided: {r.abstain_reason}."
    assert r.p_value is not None
    alone = (
        ""
        if r.screened_above is None
        else " alone (the second model was not needed: the two-model test runs only where this share is at most "
        f"{r.screened_above:.0%})"
    )
    base = (
        f"Decided by {STATISTIC_WORDS.get(r.statistic, r.statistic)}{alone}: human texts of this length score this "
        f"high {r.p_value:.1%} of the time ({r.reference_size} reference texts{_pooled(r)}); decided at a "
        f"{r.fpr:.0%} false-positive rate."
    )
    restored = r.normalized.get("spelling_restored", 0)
    if restored:
        words = (
            "1 word unknown to the dictionary was"
            if restored == 1
            else f"{restored} words unknown to the dictionary were"
        )
        base += (
            f" {words} read as the nearest dictionary word (as a misspelling would be), as the reference texts were."
        )
    if r.verdict == "ai":
        return "Statistically unlike human writing. " + base
    return "No statistical evidence of machine generation (this does not show a human wrote it). " + base


def _pooled(r: AiLikelihood) -> str:
    if r.group is not None:
        return f" of the group '{r.group}' ({r.group_description}), which this text's wording was routed to"
    if r.reference_group is None:
        return ""
    return f", one reference pooled over {len(r.reference_sources)} sources of human text"


def _identity(text: str) -> NormalizedText:
    return NormalizedText(text, np.arange(len(text) + 1, dtype=np.int64), 0, 0, 0)


class Classifier(Protocol):
    """What :class:`TextAIDetector` needs from a trained classifier (see :mod:`detect.training`)."""

    def probability(self, text: str, features: TextFeatures) -> float:
        """Calibrated probability that ``text`` (normalised) is machine-written."""
        ...


@dataclass(frozen=True)
class Screen:
    """The first stage of a two-model detector (see module docstring): the embedded model alone
    against its own human reference (a ``log_likelihood`` one), and the p-value above which a
    text is decided there."""

    reference: HumanReference
    above: float

    def decides(self, scored: ScoredText) -> tuple[float, ConformalResult] | None:
        """The single-model statistic and p-value where they decide the text, else ``None``."""
        found = self.reference.p_value_of(scored)
        return found if found is not None and found[1].p_value > self.above else None


class TextAIDetector:
    """Scores texts for AI origin against a human reference with the embedded model (and, for a
    ``cross_model`` reference, the second model).

    Raises:
        ConfigurationError: the reference was built with another model, or is a ``cross_model``
            reference without its second model.
    """

    def __init__(
        self,
        lm: LanguageModel,
        reference: HumanReference,
        *,
        second: LanguageModel | None = None,
        fpr: float = DEFAULT_FPR,
        min_tokens: int = MIN_TOKENS,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        classifier: Classifier | None = None,
        screen: Screen | None = None,
        groups: Groups | None = None,
        embedder: SentenceEmbedder | None = None,
    ) -> None:
        if not 0.0 < fpr < 1.0:
            raise ValueError(f"fpr must be in (0, 1), got {fpr}")
        if screen is not None and not fpr < screen.above <= 1.0:
            raise ValueError(f"the screen's threshold must be in ({fpr}, 1], got {screen.above}")
        if min_tokens < 16:
            raise ValueError(f"min_tokens must be >= 16 (the smallest bucket), got {min_tokens}")
        if reference.model != lm.name:
            raise ConfigurationError(
                f"the human reference was built with {reference.model!r}, not {lm.name!r}: "
                "rebuild it with `assay detect train`"
            )
        if reference.combination is not None and (second is None or second.name != reference.second_model):
            raise ConfigurationError(
                f"the human reference needs the second model {reference.second_model!r}"
                + (f", not {second.name!r}" if second is not None else "")
            )
        self.lm = lm
        self.second = second if reference.combination is not None else None
        if (
            screen is not None
            and self.second is not None
            and (screen.reference.combination is not None or screen.reference.model != lm.name)
        ):
            raise ConfigurationError(f"the screen needs a single-model reference built with {lm.name!r}")
        self.screen = screen if self.second is not None else None
        if self.screen is not None and self.screen.reference.spelling != reference.spelling:
            raise ConfigurationError(
                "the screen's reference and the human reference must restore spelling alike "
                f"({self.screen.reference.spelling!r} vs {reference.spelling!r}): rebuild them together"
            )
        if reference.spelling is not None and reference.spelling not in RESTORATIONS:
            raise ConfigurationError(
                f"the human reference restores spelling by {reference.spelling!r}, which this version "
                f"does not know (it knows {', '.join(map(repr, RESTORATIONS))}): rebuild it with `assay detect train`"
            )
        self.restorer = (
            SpellingRestorer.for_tokenizer(lm.tokenizer, reference.spelling) if reference.spelling is not None else None
        )
        if groups is not None:
            groups.check_against(reference)
            if self.screen is not None:
                groups.check_against(self.screen.reference)
        self.groups = groups
        self.embedder = embedder if embedder is not None or groups is None else shared_embedder()
        # what a text of each group is judged by: reference, screen, the group in words
        self._judged: dict[str, tuple[HumanReference, Screen | None, str | None]] = {
            POOLED: (reference, self.screen, None)
        }
        for name, g in (groups.groups if groups is not None else {}).items():
            own = g.reference if reference.combination is not None else g.single
            screen_of = Screen(g.single, self.screen.above) if self.screen is not None else None
            self._judged[name] = (own, screen_of, g.description)
        self.reference = reference
        self.fpr = fpr
        self.min_tokens = min_tokens
        self.max_tokens = max_tokens
        self.classifier = classifier

    def score(self, text: str) -> AiLikelihood:
        """The verdict for one text."""
        return self.score_batch([text])[0]

    def score_batch(self, texts: Sequence[str], *, normalize: bool = True) -> list[AiLikelihood]:
        """Verdicts for several texts (one batched forward pass).

        ``normalize=False`` skips Unicode normalisation; it exists to measure what normalisation
        is worth and should not be used otherwise.
        """
        normalized = self.prepare(texts) if normalize else [_identity(t) for t in texts]
        plain = [n.text for n in normalized]
        groups = self.route(plain)
        scored = score_texts(self.lm, plain, max_tokens=self.max_tokens)
        if self.second is not None:
            need = [
                i
                for i, (n, s) in enumerate(zip(normalized, scored, strict=True))
                if self._needs_second(n, s, groups[i])
            ]
            both = with_second(
                self.second,
                [plain[i] for i in need],
                [scored[i] for i in need],
                max_tokens=self.max_tokens,
                vocabulary=self.reference.second_vocabulary,
                window=self.reference.second_window,
            )
            for i, s in zip(need, both, strict=True):
                scored[i] = s
        return [self.verdict_for(n, s, g) for n, s, g in zip(normalized, scored, groups, strict=True)]

    def route(self, texts: Sequence[str]) -> list[str]:
        """The group each (normalised) text is judged in: :data:`detect.groups.POOLED` for every
        text without groups, else the router's choice from its sentence embedding."""
        if self.groups is None or self.embedder is None:
            return [POOLED] * len(texts)
        return self.groups.route(self.embedder.embed(texts))

    def _references(self, group: str) -> tuple[HumanReference, Screen | None, str | None]:
        """The reference, screen and group description a text of ``group`` is judged by."""
        return self._judged.get(group, self._judged[POOLED])

    def prepare(self, texts: Sequence[str]) -> list[NormalizedText]:
        """The texts as this detector scores them: Unicode-normalised and, where its reference
        was built so, with their spelling restored (:mod:`detect.spelling`)."""
        return prepare(texts, self.restorer)

    def _abstains(self, text: str, tokens: int) -> str | None:
        if tokens < self.min_tokens:
            return f"too-short (under {self.min_tokens} tokens)"
        return abstain_reason(text)

    def _needs_second(self, norm: NormalizedText, scored: ScoredText, group: str = POOLED) -> bool:
        """Whether the verdict needs the second model: not for a text the detector abstains on
        or the screen (of its group) decides."""
        if self._abstains(norm.text, scored.tokens) is not None:
            return False
        screen = self._references(group)[1]
        return screen is None or screen.decides(scored) is None

    def verdict_for(self, norm: NormalizedText, scored: ScoredText, group: str = POOLED) -> AiLikelihood:
        """The verdict for a normalised text already scored (by :func:`score_texts` with this
        detector's models and vocabulary) in ``group`` (:meth:`route`): lets one scoring serve
        several references."""
        text = norm.text
        ref, screen, description = self._references(group)
        feats = aggregate(scored.first)
        changes = {k: v for k, v in norm.changes().items() if v}
        base: dict[str, Any] = {
            "fpr": self.fpr,
            "tokens": feats.tokens,
            "normalized": changes,
            "statistic": self.reference.statistic_name,
        }
        reason = self._abstains(text, feats.tokens)
        if reason is not None:
            return AiLikelihood(verdict="inconclusive", abstain_reason=reason, **base)
        prob = self.classifier.probability(text, feats) if self.classifier is not None else None
        features = feats.as_dict()
        found = screen.decides(scored) if screen is not None else None
        screened = found is not None  # the screen decided: the embedded model's own test, never a flag
        if screen is not None and screened:
            ref = screen.reference
        else:
            if self.second is not None and scored.second is None:
                raise ValueError("this text needs the second model's scores (score it with the detector's score_batch)")
            if scored.second is not None:
                features |= dict(zip(CROSS_FEATURES, map(float, span_features(scored, 0, scored.tokens)), strict=True))
            found = ref.p_value_of(scored)
            if found is None:
                reason = f"no-reference (fewer than {ref.min_size} human texts of this length in the reference)"
                return AiLikelihood(
                    verdict="inconclusive",
                    abstain_reason=reason,
                    classifier_probability=prob,
                    features=features,
                    **base,
                )
        assert found is not None
        score, result = found
        return AiLikelihood(
            verdict="ai" if not screened and result.p_value <= self.fpr else "no-evidence",
            p_value=result.p_value,
            score=score,
            standardized_score=result.standardized,
            bucket=result.bucket,
            reference_size=result.reference_size,
            reference_sources=dict(ref.sources),
            classifier_probability=prob,
            features=features,
            spans=self._spans(scored, norm, ref),
            screened_above=screen.above if screened and screen is not None else None,
            group=None if description is None else group,
            group_description=description,
            **(base | {"statistic": ref.statistic_name}),
        )

    def _spans(self, scored: ScoredText, norm: NormalizedText, ref: HumanReference) -> tuple[Span, ...]:
        """p-values of consecutive 64-token passages under ``ref`` (the first against human
        prefixes, the rest against human passages that also have context)."""
        n = scored.tokens
        if n < 2 * WINDOW:
            return ()
        spans = []
        for start in range(0, n - WINDOW + 1, WINDOW):
            if start == 0:
                if len(ref.scores.get(WINDOW, ())) < ref.min_size:
                    continue
                res: ConformalResult | None = ref.p_value(ref.statistic(scored, WINDOW), WINDOW)
            else:
                res = ref.window_p_value(ref.value(scored, start, start + WINDOW))
            if res is None:
                continue
            offsets = scored.first.offsets
            rng = norm.original_offsets(np.array([offsets[start, 0], offsets[start + WINDOW - 1, 1]]))
            spans.append(Span(int(rng[0]), int(rng[1]), start, start + WINDOW, WINDOW, res.p_value))
        return tuple(spans)
