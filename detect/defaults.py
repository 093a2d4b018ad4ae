"""The shipped human reference and classifier, and the detector built from them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from watermark.errors import ConfigurationError
from watermark.text.model import LanguageModel

from .calibration import HumanReference
from .classifier import CalibratedLogisticDetector
from .embeddings import SentenceEmbedder
from .text import DEFAULT_FPR, TextAIDetector
from .training import EmbeddingClassifier

__all__ = ["load_classifier", "load_reference", "load_text_detector"]


def _read(name: str, override: Path | None) -> str:
    if override is not None:
        try:
            return override.read_text()
        except OSError as exc:
            raise ConfigurationError(f"cannot read {override}: {exc.strerror}") from None
    try:
        return resources.files("detect").joinpath("data", name).read_text()
    except OSError:
        raise ConfigurationError(f"the shipped {name} is missing: run eval/build_detector.py") from None


def load_reference(path: Path | None = None) -> HumanReference:
    """The human reference (shipped, or from ``path``)."""
    return HumanReference.from_json(_read("human_reference.json", path))


def load_classifier(path: Path | None = None, *, embedder: SentenceEmbedder | None = None) -> EmbeddingClassifier:
    """The classifier (shipped, or from ``path``), with the sentence embedder it was trained with."""
    model, meta = CalibratedLogisticDetector.from_json(_read("classifier.json", path))
    uses = bool(meta.get("uses_embeddings"))
    return EmbeddingClassifier(model, (embedder or SentenceEmbedder()) if uses else None)


def load_text_detector(
    lm: LanguageModel,
    *,
    fpr: float = DEFAULT_FPR,
    reference: Path | None = None,
    classifier: Path | None = None,
    with_classifier: bool = True,
) -> TextAIDetector:
    """A detector for ``lm`` with the shipped (or given) reference and classifier.

    Raises:
        ConfigurationError: the reference was built for another model.
    """
    ref = load_reference(reference)
    if ref.model != lm.name:
        raise ConfigurationError(
            f"the human reference was built with {ref.model!r}, not {lm.name!r}: rebuild it with `assay detect train`"
        )
    clf = load_classifier(classifier) if with_classifier else None
    return TextAIDetector(lm, ref, fpr=fpr, classifier=clf)
