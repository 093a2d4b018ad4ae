"""Build the human reference and the classifier from labelled text; the split they are fitted on.

Every labelled text falls into the *calibration* half or the *evaluation* half by a hash of its
content, so the shipped reference and classifier never see the texts the benchmark reports on
(``eval/detection.py``), and a user's retraining (``assay detect train``) splits the same way.

With the second model the statistic is ``cross_model``, whose weights are fitted too: the
calibration half is split again by another byte of the same hash. The *reference* part's human
texts make the conformal reference and nothing else; the weights are fitted on the *fit* part's
human texts and every machine text of the calibration half. A reference text never influenced the
statistic it is ranked by, so it stays exchangeable with new human text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from watermark.errors import InvalidInput
from watermark.text.model import LanguageModel
from watermark.text.normalize import normalize_text

from .calibration import BUCKETS, CONTEXT, HumanReference, build_reference, skipped
from .classifier import CalibratedLogisticDetector
from .cross_model import SURPRISE_CAP, ScoredText, fit_combination, score_texts, span_features
from .embeddings import SentenceEmbedder
from .features import DEFAULT_MAX_TOKENS, FEATURE_NAMES, TextFeatures, aggregate
from .spelling import SPELLING, SpellingRestorer, prepare
from .text import abstain_reason

__all__ = [
    "EmbeddingClassifier",
    "LabelledText",
    "Trained",
    "distinct",
    "domain_of",
    "fast_detect_gpt_sets",
    "featurize",
    "fit_cross_reference",
    "in_calibration_half",
    "in_reference_part",
    "read_labelled_jsonl",
    "scoring_vocabulary",
    "train",
]


@dataclass(frozen=True)
class LabelledText:
    """A text, its label (1 = machine-written) and where it came from."""

    text: str
    label: int
    source: str


def in_calibration_half(text: str) -> bool:
    """Whether a text belongs to the calibration half (stable across runs and machines)."""
    return hashlib.sha256(text.encode()).digest()[0] < 128


def in_reference_part(text: str) -> bool:
    """Within the calibration half: whether a human text belongs to the part that makes the
    ``cross_model`` reference (the rest fits its weights). Another byte of the same hash."""
    return hashlib.sha256(text.encode()).digest()[1] < 128


def domain_of(source: str) -> str:
    """A human text's domain: its source up to the first ``_`` (``xsum_gpt-3.5-turbo`` -> ``xsum``)."""
    return source.split("_")[0]


def scoring_vocabulary(tokenizer: Any, texts: Sequence[str]) -> npt.NDArray[np.int64]:
    """The second model's token ids the ``cross_model`` statistic scores over: every token of
    ``texts`` (normalised), every ASCII piece among its first 32,768 ids, and end-of-text.

    Gemma 3's 262 k vocabulary is mostly other scripts; the output projection over all of it
    would cost several times the model's body. Texts outside this vocabulary are still scored
    (a token outside joins its own normaliser), so the restriction changes the statistic's
    definition, not which texts it applies to.
    """
    seen: set[int] = set()
    for t in texts:
        seen.update(tokenizer(normalize_text(t).text, add_special_tokens=False)["input_ids"])
    pieces = tokenizer.convert_ids_to_tokens(list(range(min(32768, len(tokenizer)))))
    common = {i for i, p in enumerate(pieces) if p and all(32 <= ord(c) < 127 or c == "▁" for c in p)}
    if tokenizer.eos_token_id is not None:
        common.add(int(tokenizer.eos_token_id))
    return np.asarray(sorted(seen | common), dtype=np.int64)


def fast_detect_gpt_sets(directory: Path) -> dict[str, list[LabelledText]]:
    """The six 150-pair sets of ``fast-detect-gpt`` (human ``original``, machine ``sampled``).

    Two "machine" texts equal their human original word for word (the model added nothing to the
    prompt: writing_davinci and xsum_davinci, one each); they are human text and are left out.
    """
    sets = {}
    for path in sorted(directory.glob("*.raw_data.json")):
        name = path.name.removesuffix(".raw_data.json")
        raw = json.loads(path.read_text())
        human = set(raw["original"])
        sets[name] = [LabelledText(t, 0, name) for t in raw["original"]] + [
            LabelledText(t, 1, name) for t in raw["sampled"] if t not in human
        ]
    return sets


def read_labelled_jsonl(path: Path) -> list[LabelledText]:
    """Rows ``{"text": ..., "label": 0|1, "source": ...}`` (source optional).

    Raises:
        InvalidInput: a row is not valid JSON or lacks a text or a 0/1 label.
    """
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            label = int(row["label"])
            text = str(row["text"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{path}:{n}: expected {{'text': ..., 'label': 0 or 1}}: {exc}") from None
        if label not in (0, 1) or not text.strip():
            raise InvalidInput(f"{path}:{n}: label must be 0 or 1 and text non-empty")
        rows.append(LabelledText(text, label, str(row.get("source", path.stem))))
    return rows


def featurize(
    lm: LanguageModel,
    embedder: SentenceEmbedder | None,
    texts: Sequence[str],
    *,
    second: LanguageModel | None = None,
    vocabulary: npt.NDArray[np.int64] | None = None,
    window: int | None = None,
    restorer: SpellingRestorer | None = None,
) -> tuple[npt.NDArray[np.float64], list[TextFeatures], list[ScoredText]]:
    """Classifier inputs ``(n, 7 [+ 384])`` for normalised texts (spelling restored by
    ``restorer``, when given), their features and scores (under the second model too, when
    given, over its ``window``)."""
    norm = [n.text for n in prepare(texts, restorer)]
    scores = score_texts(
        lm,
        norm,
        max_tokens=DEFAULT_MAX_TOKENS,
        second=second,
        vocabulary=vocabulary,
        window=window,
        progress=len(norm) > 50,
    )
    feats = [aggregate(s.first) for s in scores]
    X = np.asarray([f.values for f in feats], dtype=np.float64)
    if embedder is not None:
        X = np.hstack([X, embedder.embed(norm).astype(np.float64)])
    return X, feats, scores


class EmbeddingClassifier:
    """Applies a fitted classifier to one text: zero-shot features plus (optionally) its embedding."""

    def __init__(self, model: CalibratedLogisticDetector, embedder: SentenceEmbedder | None) -> None:
        self.model = model
        self.embedder = embedder

    def probability(self, text: str, features: TextFeatures) -> float:
        """Calibrated probability that ``text`` (already normalised, as the detector passes it) is machine-written."""
        x = np.asarray(features.values, dtype=np.float64)[None, :]
        if self.embedder is not None:
            x = np.hstack([x, self.embedder.embed([text]).astype(np.float64)])
        return float(self.model.predict_proba(x)[0, 1])


def distinct(rows: Iterable[LabelledText]) -> dict[str, LabelledText]:
    """Rows by text, each text once (the first row of it wins): a repeated human text would count
    twice in the reference and in a realised false-positive rate, as if it were two observations.

    Raises:
        InvalidInput: the same text is labelled both human and machine.
    """
    out: dict[str, LabelledText] = {}
    for r in rows:
        seen = out.setdefault(r.text, r)
        if seen.label != r.label:
            raise InvalidInput(f"the same text is labelled both 0 and 1 (sources {seen.source!r}, {r.source!r})")
    return out


@dataclass(frozen=True)
class Trained:
    """What :func:`train` fits: the reference to use (``cross_model`` with a second model), the
    single-model reference (always, from every human text of the calibration half), and the
    classifier with its metadata."""

    reference: HumanReference
    single_reference: HumanReference
    classifier: CalibratedLogisticDetector
    meta: dict[str, object]


def train(
    lm: LanguageModel,
    rows: Sequence[LabelledText],
    *,
    embedder: SentenceEmbedder | None,
    second: LanguageModel | None = None,
    second_window: int | None = None,
    C: float = 0.5,
    spelling: bool = True,
) -> Trained:
    """Fit the human reference, with a ``second`` model the ``cross_model`` weights (see module
    docstring; the second model over its ``second_window``, all of each text when ``None``), and
    the classifier (all rows) on the calibration half, each distinct text once; with
    ``spelling``, every text is scored with its spelling restored (:mod:`detect.spelling`) and
    the references say so.

    Raises:
        InvalidInput: the calibration half lacks human or machine texts, or labels a text both ways.
    """
    cal = list(distinct(r for r in rows if in_calibration_half(r.text)).values())
    if not any(r.label == 0 for r in cal) or not any(r.label == 1 for r in cal):
        raise InvalidInput("the calibration half needs both human (0) and machine (1) texts")
    vocabulary = scoring_vocabulary(second.tokenizer, [r.text for r in cal]) if second is not None else None
    restorer = SpellingRestorer.for_tokenizer(lm.tokenizer) if spelling else None
    X, _, scores = featurize(
        lm,
        embedder,
        [r.text for r in cal],
        second=second,
        vocabulary=vocabulary,
        window=second_window,
        restorer=restorer,
    )
    y = np.asarray([r.label for r in cal], dtype=np.int64)
    human = [r.label == 0 for r in cal]
    restored = SPELLING if spelling else None
    humans = [s for s, k in zip(scores, human, strict=True) if k]
    single = build_reference(lm.name, humans, _sources(cal, human), spelling=restored)
    reference = single
    if second is not None:
        reference = fit_cross_reference(
            lm.name,
            cal,
            scores,
            second.name,
            vocabulary,
            second_window,
            spelling=restored,
            surprise_cap=SURPRISE_CAP,
        )
    model = CalibratedLogisticDetector(C=C).fit(X, y)
    meta: dict[str, object] = {
        "features": list(FEATURE_NAMES) + (["minilm"] * 384 if embedder is not None else []),
        "uses_embeddings": embedder is not None,
        "model": lm.name,
        "trained_on": {"texts": len(cal), "machine": int(y.sum()), "human": int((1 - y).sum())},
    }
    return Trained(reference, single, model, meta)


def fit_cross_reference(
    model: str,
    cal: Sequence[LabelledText],
    scores: Sequence[ScoredText],
    second: str,
    vocabulary: npt.NDArray[np.int64] | None,
    window: int | None = None,
    *,
    reference_part: Sequence[bool] | None = None,
    spelling: str | None = None,
    surprise_cap: float | None = None,
) -> HumanReference:
    """The ``cross_model`` reference from scored calibration rows (the second model over its
    ``window``): weights fitted on every row outside the reference part (see module docstring),
    the reference from the reference part (``reference_part``: which rows' human texts make it,
    instead of the hash; for studies of how much a figure depends on that draw); ``surprise_cap``
    floors the embedded model's per-token log-likelihood in the features and the reference.

    Raises:
        InvalidInput: too few human texts for both parts.
    """
    chosen = reference_part if reference_part is not None else [in_reference_part(r.text) for r in cal]
    ref_part = [r.label == 0 and k for r, k in zip(cal, chosen, strict=True)]
    rows_x, rows_y, groups = [], [], []
    for s, r, k in zip(scores, cal, ref_part, strict=True):
        bucket = max((b for b in BUCKETS if b <= s.tokens), default=None)
        if k or bucket is None or abstain_reason(r.text) is not None:
            continue
        rows_x.append(span_features(s, skipped(bucket, CONTEXT), bucket, window, surprise_cap))
        rows_y.append(r.label)
        groups.append(domain_of(r.source) if r.label == 0 else r.source)
    if not any(ref_part) or 0 not in rows_y or 1 not in rows_y:
        raise InvalidInput("too few texts to both fit the two-model statistic and keep a human reference")
    combination = fit_combination(np.asarray(rows_x), np.asarray(rows_y, dtype=np.int64), groups)
    return build_reference(
        model,
        [s for s, k in zip(scores, ref_part, strict=True) if k],
        _sources(cal, ref_part),
        combination=combination,
        second_model=second,
        second_vocabulary=vocabulary,
        second_window=window,
        spelling=spelling,
        surprise_cap=surprise_cap,
    )


def _sources(rows: Sequence[LabelledText], keep: Sequence[bool]) -> dict[str, int]:
    """Human texts per source among the rows kept."""
    out: dict[str, int] = {}
    for r, k in zip(rows, keep, strict=True):
        if k:
            out[r.source] = out.get(r.source, 0) + 1
    return out
