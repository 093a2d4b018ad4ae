"""The shipped human references and classifier, and the detector built from them.

Two references ship: ``human_reference.json`` for the ``cross_model`` statistic (the embedded
model and the second model; the default) and ``human_reference_single.json`` for the
``log_likelihood`` statistic of the embedded model alone (when the second model is not used);
``human_groups.json`` holds the genres judged against their own human texts (:mod:`detect.groups`).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from watermark.errors import ConfigurationError
from watermark.text.model import LanguageModel

from .calibration import HumanReference
from .classifier import CalibratedLogisticDetector
from .embeddings import SentenceEmbedder, shared_embedder
from .groups import Groups
from .text import DEFAULT_FPR, TextAIDetector
from .training import EmbeddingClassifier

__all__ = ["load_classifier", "load_groups", "load_reference", "load_text_detector"]


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


CROSS_REFERENCE = "human_reference.json"
SINGLE_REFERENCE = "human_reference_single.json"
GROUPS = "human_groups.json"


def load_reference(path: Path | None = None, *, single: bool = False) -> HumanReference:
    """The human reference from ``path``, else the shipped one (``single``: the embedded model's alone)."""
    return HumanReference.from_json(_read(SINGLE_REFERENCE if single else CROSS_REFERENCE, path))


def load_groups(path: Path | None = None) -> Groups:
    """The group references (router and per-group references) from ``path``, else the shipped ones
    (read once per process: every detector shares them).

    Raises:
        ConfigurationError: the file is missing or invalid.
    """
    return Groups.from_json(_read(GROUPS, path)) if path is not None else _shipped_groups()


@functools.cache
def _shipped_groups() -> Groups:
    return Groups.from_json(_read(GROUPS, None))


def load_classifier(path: Path | None = None, *, embedder: SentenceEmbedder | None = None) -> EmbeddingClassifier:
    """The classifier (shipped, or from ``path``), with the sentence embedder it was trained with."""
    model, meta = CalibratedLogisticDetector.from_json(_read("classifier.json", path))
    uses = bool(meta.get("uses_embeddings"))
    return EmbeddingClassifier(model, (embedder or shared_embedder()) if uses else None)


def load_text_detector(
    lm: LanguageModel,
    *,
    second: LanguageModel | None = None,
    fpr: float = DEFAULT_FPR,
    reference: Path | None = None,
    classifier: Path | None = None,
    with_classifier: bool = True,
) -> TextAIDetector:
    """A detector for ``lm`` with the shipped (or given) reference and classifier: the
    ``cross_model`` reference when a ``second`` model is given, else the single-model one; the
    shipped groups (:mod:`detect.groups`) go with the shipped reference only.

    Raises:
        ConfigurationError: the reference was built for other models.
    """
    ref = load_reference(reference, single=second is None)
    clf = load_classifier(classifier) if with_classifier else None
    groups = load_groups() if reference is None else None
    embedder = clf.embedder if clf is not None else None
    return TextAIDetector(lm, ref, second=second, fpr=fpr, classifier=clf, groups=groups, embedder=embedder)
