"""Build the human reference and the classifier from labelled text; the split they are fitted on.

Every labelled text falls into the *calibration* half or the *evaluation* half by a hash of its
content, so the shipped reference and classifier never see the texts the benchmark reports on
(``eval/detection.py``), and a user's retraining (``assay detect train``) splits the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from watermark.errors import InvalidInput
from watermark.text.model import LanguageModel
from watermark.text.normalize import normalize_text

from .calibration import HumanReference, build_reference
from .classifier import CalibratedLogisticDetector
from .embeddings import SentenceEmbedder
from .features import FEATURE_NAMES, TextFeatures, TokenScores, aggregate, score_tokens

__all__ = [
    "EmbeddingClassifier",
    "LabelledText",
    "distinct",
    "fast_detect_gpt_sets",
    "featurize",
    "in_calibration_half",
    "read_labelled_jsonl",
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
    lm: LanguageModel, embedder: SentenceEmbedder | None, texts: Sequence[str]
) -> tuple[npt.NDArray[np.float64], list[TextFeatures], list[TokenScores]]:
    """Classifier inputs ``(n, 7 [+ 384])`` for normalised texts, their features and token scores."""
    norm = [normalize_text(t).text for t in texts]
    scores = score_tokens(lm, norm, progress=len(norm) > 50)
    feats = [aggregate(s) for s in scores]
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


def train(
    lm: LanguageModel,
    rows: Sequence[LabelledText],
    *,
    embedder: SentenceEmbedder | None,
    C: float = 0.5,
) -> tuple[HumanReference, CalibratedLogisticDetector, dict[str, object]]:
    """Fit the human reference (human rows) and the classifier (all rows) on the calibration half,
    each distinct text once.

    Raises:
        InvalidInput: the calibration half lacks human or machine texts, or labels a text both ways.
    """
    cal = list(distinct(r for r in rows if in_calibration_half(r.text)).values())
    if not any(r.label == 0 for r in cal) or not any(r.label == 1 for r in cal):
        raise InvalidInput("the calibration half needs both human (0) and machine (1) texts")
    X, _, scores = featurize(lm, embedder, [r.text for r in cal])
    y = np.asarray([r.label for r in cal], dtype=np.int64)
    sources: dict[str, int] = {}
    for r in cal:
        if r.label == 0:
            sources[r.source] = sources.get(r.source, 0) + 1
    human = [s for s, r in zip(scores, cal, strict=True) if r.label == 0]
    reference = build_reference(lm.name, human, sources)
    model = CalibratedLogisticDetector(C=C).fit(X, y)
    meta: dict[str, object] = {
        "features": list(FEATURE_NAMES) + (["minilm"] * 384 if embedder is not None else []),
        "uses_embeddings": embedder is not None,
        "model": lm.name,
        "trained_on": {"texts": len(cal), "machine": int(y.sum()), "human": int((1 - y).sum())},
    }
    return reference, model, meta
