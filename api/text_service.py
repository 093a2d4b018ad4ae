"""The text capabilities as the application uses them: model, key ring and detector, loaded once."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from api.settings import Settings
from detect.report import Report, text_report
from watermark.errors import ConfigurationError
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
from watermark.text.generate import Prompt
from watermark.text.model import load_vocab_size

__all__ = ["TextService", "ensure_keyring_file"]

log = logging.getLogger(__name__)


def ensure_keyring_file(path: Path) -> bool:
    """Create a key ring with one fresh random key at ``path`` unless it exists (mode 0600).

    Returns:
        True when a new key ring was written.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    text = new_keyring_toml("default-1", scheme="kgw")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False  # another process created it first
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    log.info("created a new watermark key ring", extra={"path": str(path)})
    return True


class TextService:
    """Lazily loads the model (or only its tokenizer) and binds the key ring to it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._model: LanguageModel | None = None
        self._tokenizer: Any = None
        self._keyring: KeyRing | None = None
        self._detector: TextWatermarkDetector | None = None

    @property
    def keyring(self) -> KeyRing:
        """The key ring from settings (TOML text, a file, or a key created on first use)."""
        if self._keyring is None:
            s = self.settings
            if s.keyring_toml is not None:
                self._keyring = keyring_from_toml(s.keyring_toml.get_secret_value())
            else:
                if s.keyring is None:
                    ensure_keyring_file(s.keyring_path)
                elif not s.keyring.is_file():
                    raise ConfigurationError(f"key ring file {s.keyring} does not exist")
                self._keyring = load_keyring(s.keyring_path)
        return self._keyring

    def model(self) -> LanguageModel:
        """The language model, loaded on first use."""
        with self._lock:
            if self._model is None:
                self._model = load_model(
                    self.settings.model, cache_dir=self.settings.model_cache, allow_network=self.settings.allow_network
                )
                self._tokenizer = self._model.tokenizer
            return self._model

    def tokenizer(self) -> Any:
        """The tokenizer alone (cheaper than the model when only detecting)."""
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = load_tokenizer(
                    self.settings.model, cache_dir=self.settings.model_cache, allow_network=self.settings.allow_network
                )
            return self._tokenizer

    @property
    def model_loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._model is not None

    def scheme(self, vocab_size: int, key_id: str | None = None) -> TextScheme:
        """The scheme of key ``key_id`` (default: the active key), bound to a vocabulary.

        Raises:
            UnknownKey: no key has this id.
        """
        key = self.keyring.active if key_id is None else self.keyring.get(key_id)
        return scheme_for_key(key, vocab_size=vocab_size)

    def detector(self) -> TextWatermarkDetector:
        """A detector over every key, with the configured FPR and limits (built once)."""
        if self._detector is None:
            s = self.settings
            tok = self.tokenizer()
            if self._model is not None:
                vocab = self._model.vocab_size
            else:
                vocab = load_vocab_size(s.model, cache_dir=s.model_cache, allow_network=s.allow_network)
            self._detector = TextWatermarkDetector.from_keyring(
                self.keyring, vocab_size=vocab, tokenizer=tok, alpha=s.alpha, max_chars=s.max_text_chars
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
        if key_id is not None:
            self.keyring.get(key_id)  # fail before loading the model
        lm = self.model()
        scheme = self.scheme(lm.vocab_size, key_id) if watermark else None
        return generate(lm, prompt, scheme=scheme, **kwargs)[0]

    def detect(self, text: str | bytes, *, key_id: str | None = None) -> Report:
        """The report for one text, under every key or only ``key_id``.

        Raises:
            UnknownKey: ``key_id`` is not in the key ring.
        """
        detector = self.detector()
        if key_id is not None:
            self.keyring.get(key_id)
            only = [s for s in detector.schemes if s.key_id == key_id]
            detector = TextWatermarkDetector(
                schemes=only,
                tokenizer=detector.tokenizer,
                alpha=detector.alpha,
                min_tokens=detector.min_tokens,
                min_window=detector.min_window,
                max_chars=detector.max_chars,
            )
        return text_report(detector.detect_text(text))
