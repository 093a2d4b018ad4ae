"""The text capabilities as the application uses them: model, key ring and detector, loaded once."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.core.settings import Settings
from detect.report import AiLikelihoodFinding
from watermark.errors import ConfigurationError, ModelUnavailable
from watermark.keys import KeyRing, keyring_from_toml, load_keyring, new_keyring_toml
from watermark.text import (
    Generation,
    LanguageModel,
    TextScheme,
    TextWatermarkDetector,
    generate,
    load_model,
    load_tokenizer,
    scheme_for_key,
)
from watermark.text.detector import TextDetection
from watermark.text.generate import Prompt
from watermark.text.model import SECOND_MODEL, load_vocab_size
from watermark.text.precision import as_precision, resolve_precision

if TYPE_CHECKING:
    from detect.calibration import HumanReference
    from detect.groups import Groups
    from detect.text import Screen

__all__ = ["TextService", "ensure_keyring_file", "write_new_keyring"]

log = logging.getLogger(__name__)


def write_new_keyring(path: Path, key_id: str = "default-1", *, scheme: str = "kgw", **params: Any) -> bool:
    """Write a key ring with one fresh random key of ``scheme`` to ``path`` (mode 0600, never
    overwriting).

    Returns:
        True when written; False when ``path`` already exists.
    """
    text = new_keyring_toml(key_id, scheme=scheme, **params)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private temporary file, then linked into place: a concurrent reader sees no
    # file or the complete one, never a half-written ring, and an existing ring is never replaced.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        os.unlink(tmp)
    log.info("created a new watermark key ring", extra={"path": str(path)})
    return True


def ensure_keyring_file(path: Path) -> bool:
    """Create a key ring with one fresh random key at ``path`` unless it exists (mode 0600).

    Returns:
        True when a new key ring was written.
    """
    return False if path.exists() else write_new_keyring(path)


class TextService:
    """Lazily loads the model (or only its tokenizer) and binds the key ring to it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._model: LanguageModel | None = None
        self._tokenizer: Any = None
        self._keyring: KeyRing | None = None
        self._detector: TextWatermarkDetector | None = None
        self._ai: Any = None  # TextAIDetector, or False when unavailable for this model
        self._scoring: LanguageModel | None = None
        self._second: LanguageModel | None = None
        self.ai_unavailable: str | None = None
        # Bound schemes hold keyed per-token tables (~0.1 s each to build): build them once.
        self._schemes: dict[tuple[str, int], TextScheme] = {}

    @property
    def keyring(self) -> KeyRing:
        """The key ring from settings (TOML text, a file, or a key created on first use)."""
        with self._lock:  # one thread creates the ring on first use; the others wait for it
            if self._keyring is None:
                self._keyring = self._load_keyring()
            return self._keyring

    def _load_keyring(self) -> KeyRing:
        s = self.settings
        if s.keyring_toml is not None:
            return keyring_from_toml(s.keyring_toml.get_secret_value())
        if s.keyring is None:
            ensure_keyring_file(s.keyring_path)
        elif not s.keyring.is_file():
            raise ConfigurationError(f"key ring file {s.keyring} does not exist")
        return load_keyring(s.keyring_path)

    @property
    def model_loaded(self) -> bool:
        """Whether the language model is in memory."""
        return self._model is not None

    def model(self) -> LanguageModel:
        """The language model, loaded on first use."""
        with self._lock:
            if self._model is None:
                self._model = load_model(
                    self.settings.model, cache_dir=self.settings.model_cache, allow_network=self.settings.allow_network
                )
                self._tokenizer = self._model.tokenizer
            return self._model

    def scoring_model(self) -> LanguageModel:
        """The model the AI-likelihood statistic scores with: the model itself, or its bfloat16
        copy (``ai_precision``; see :mod:`watermark.text.precision`)."""
        model = self.model()
        with self._lock:
            if self._scoring is None:
                self._scoring = as_precision(model, resolve_precision(self.settings.ai_precision))
            return self._scoring

    def second_model(self) -> LanguageModel:
        """The second offline model (Gemma 3 270M), loaded on first use, in the scoring precision
        (``ai_precision``; it only scores, so it is converted in place).

        Raises:
            ModelUnavailable: its packages are not installed.
        """
        with self._lock:
            if self._second is None:
                model = load_model(SECOND_MODEL, cache_dir=self.settings.model_cache)
                self._second = as_precision(model, resolve_precision(self.settings.ai_precision), keep=False)
            return self._second

    def tokenizer(self) -> Any:
        """The tokenizer alone (cheaper than the model when only detecting)."""
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = load_tokenizer(
                    self.settings.model, cache_dir=self.settings.model_cache, allow_network=self.settings.allow_network
                )
            return self._tokenizer

    def scheme(self, vocab_size: int, key_id: str | None = None) -> TextScheme:
        """The scheme of key ``key_id`` (default: the active key), bound to a vocabulary.

        Raises:
            UnknownKey: no key has this id.
        """
        key = self.keyring.active if key_id is None else self.keyring.get(key_id)
        with self._lock:
            scheme = self._schemes.get((key.key_id, vocab_size))
            if scheme is None:
                scheme = self._schemes[(key.key_id, vocab_size)] = scheme_for_key(key, vocab_size=vocab_size)
        return scheme

    def detector(self) -> TextWatermarkDetector:
        """A detector over every key, with the configured FPR and limits (built once)."""
        if self._detector is None:
            s = self.settings
            tok = self.tokenizer()
            if self._model is not None:
                vocab = self._model.vocab_size
            else:
                vocab = load_vocab_size(s.model, cache_dir=s.model_cache, allow_network=s.allow_network)
            self._detector = TextWatermarkDetector(
                schemes=[self.scheme(vocab, k.key_id) for k in self.keyring],
                tokenizer=tok,
                alpha=s.alpha,
                max_chars=s.max_text_chars,
            )
        return self._detector

    def generate(
        self, prompt: Prompt, *, watermark: bool = True, key_id: str | None = None, **kwargs: Any
    ) -> Generation:
        """Generate one text, watermarked with ``key_id`` (default: the active key) unless
        ``watermark`` is False.

        Raises:
            UnknownKey: ``key_id`` is not in the key ring.
        """
        return self.generate_batch([prompt], watermark=watermark, key_id=key_id, **kwargs)[0]

    def generate_batch(
        self, prompts: Sequence[Prompt], *, watermark: bool = True, key_id: str | None = None, **kwargs: Any
    ) -> list[Generation]:
        """Generate for several prompts at once (one batch through the model), in order.

        Raises:
            UnknownKey: ``key_id`` is not in the key ring.
        """
        if key_id is not None:
            self.keyring.get(key_id)  # fail before loading the model
        lm = self.model()
        scheme = self.scheme(lm.vocab_size, key_id) if watermark else None
        return generate(lm, list(prompts), scheme=scheme, **kwargs)

    def ai_detector(self) -> Any:
        """The statistical AI-likelihood detector, or ``None`` (disabled, or no reference for this model)."""
        if not self.settings.ai_likelihood:
            return None
        if self._ai is None:
            from detect.defaults import load_classifier, load_reference
            from detect.text import TextAIDetector

            d = self.settings.detector_path
            reference = d / "human_reference.json"
            classifier = d / "classifier.json"
            try:
                ref = load_reference(
                    reference if reference.is_file() else None, single=not self.settings.ai_second_model
                )
                second = None
                if ref.combination is not None:
                    try:
                        second = self.second_model()
                    except ModelUnavailable as exc:
                        if reference.is_file():
                            raise ConfigurationError(f"{reference} needs the second model: {exc}") from None
                        log.warning("AI-likelihood falls back to the embedded model alone: %s", exc)
                        ref = load_reference(single=True)
                screen = self._screen(ref.spelling) if second is not None else None
                clf = load_classifier(classifier if classifier.is_file() else None)
                self._ai = TextAIDetector(
                    self.scoring_model(),
                    ref,
                    second=second,
                    fpr=self.settings.ai_fpr,
                    classifier=clf,
                    screen=screen,
                    groups=None if reference.is_file() else self._groups(ref, screen),
                    embedder=clf.embedder,
                )
            except ConfigurationError as exc:
                log.warning("AI-likelihood unavailable: %s", exc)
                self.ai_unavailable = str(exc)
                self._ai = False
        return self._ai or None

    def _groups(self, ref: HumanReference, screen: Screen | None) -> Groups | None:
        """The shipped genre groups (:mod:`detect.groups`) where they fit the references in use,
        else none (with a warning: every text is then judged against the pooled reference); none
        where ``ai_groups`` is off."""
        from detect.defaults import load_groups

        if not self.settings.ai_groups:
            return None
        try:
            groups = load_groups()
            for r in (ref, *([screen.reference] if screen is not None else [])):
                groups.check_against(r)
        except ConfigurationError as exc:
            log.warning("AI-likelihood runs without its genre groups: %s", exc)
            return None
        return groups

    def _screen(self, spelling: str | None) -> Screen | None:
        """The two-model detector's first stage (``ai_screen``; 1 = none): the single-model
        reference trained beside the two-model one, else the shipped one where it fits the model
        and restores spelling as the two-model reference does (``spelling``: a two-model reference
        trained before restoration keeps working, without the screen)."""
        from detect.defaults import SINGLE_REFERENCE, load_reference
        from detect.text import Screen

        if self.settings.ai_screen >= 1.0:
            return None
        own = self.settings.detector_path / SINGLE_REFERENCE
        ref = load_reference(own if own.is_file() else None, single=True)
        if ref.model != self.scoring_model().name:
            log.warning("AI-likelihood runs without its screen: %s was built with %r", SINGLE_REFERENCE, ref.model)
            return None
        if ref.spelling != spelling:
            log.warning(
                "AI-likelihood runs without its screen: %s restores spelling as %r, the two-model reference as %r "
                "(retrain with `assay detect train` to have both)",
                SINGLE_REFERENCE,
                ref.spelling,
                spelling,
            )
            return None
        return Screen(ref, self.settings.ai_screen)

    def detections(self, text: str, *, key_id: str | None = None) -> list[TextDetection]:
        """Watermark detections of one text, under every key or only ``key_id`` (best first).

        Raises:
            UnknownKey: ``key_id`` is not in the key ring.
            InvalidInput, PayloadTooLarge: an empty or too long text.
        """
        detector = self.detector()
        if key_id is not None:
            self.keyring.get(key_id)
            detector = detector.restricted_to(key_id)
        return list(detector.detect_text(text))

    def likelihood(self, text: str) -> AiLikelihoodFinding | None:
        """The statistical AI-likelihood of a text (None when turned off or unavailable)."""
        ai = self.ai_detector()
        return ai.score(text).finding() if ai is not None else None
