"""Compatibility mode: text watermarked by a stock transformers install is detected by Assay."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import WatermarkDetector, WatermarkingConfig

from tests.conftest import make_key
from watermark.errors import ConfigurationError
from watermark.keys import KeyRing
from watermark.text import TextWatermarkDetector, scheme_for_key
from watermark.text.kgw_transformers import TransformersKGWScheme
from watermark.text.model import LanguageModel

HASHING_KEY = 424242


def stock_generate(lm: LanguageModel, config: WatermarkingConfig | None, seed: int) -> torch.Tensor:
    """What a transformers user runs: model.generate(watermarking_config=...)."""
    tok = lm.tokenizer
    tok.padding_side = "left"
    enc = tok(["Once upon a time", "The weather today"], return_tensors="pt", padding=True)
    torch.manual_seed(seed)
    out = lm.model.generate(
        **enc,
        watermarking_config=config,
        do_sample=True,
        top_k=50,
        max_new_tokens=50,
        pad_token_id=tok.pad_token_id,
    )
    return out[:, enc["input_ids"].shape[1] :]


def assay_key(**params: object) -> TransformersKGWScheme:
    key = make_key("hf", str(HASHING_KEY).encode(), scheme="kgw-transformers", **params)
    return TransformersKGWScheme(key, vocab_size=49152)


@pytest.mark.parametrize(
    "params",
    [
        {"seeding_scheme": "lefthash", "context_width": 1},
        {"seeding_scheme": "selfhash", "context_width": 1},
        {"seeding_scheme": "selfhash", "context_width": 3},
    ],
)
def test_stock_transformers_marks_are_detected_with_matching_green_lists(
    tiny_lm: LanguageModel, params: dict[str, object]
) -> None:
    config = WatermarkingConfig(greenlist_ratio=0.25, bias=4.0, hashing_key=HASHING_KEY, **params)  # type: ignore[arg-type]
    ids = stock_generate(tiny_lm, config, seed=0)
    scheme = assay_key(bias=4.0, **params)
    ring = KeyRing([scheme.key, make_key("other")])
    det = TextWatermarkDetector.from_keyring(ring, vocab_size=tiny_lm.vocab_size, tokenizer=tiny_lm.tokenizer)
    ref = WatermarkDetector(tiny_lm.model.config, "cpu", config, ignore_repeated_ngrams=True)
    eos = tiny_lm.tokenizer.eos_token_id
    for padded in ids:
        row = padded[: int((padded == eos).nonzero()[0, 0])] if (padded == eos).any() else padded
        best = det.detect_ids(row.numpy())[0]
        assert best.key_id == "hf" and best.detected
        # Position by position, Assay's green bits are transformers' green bits.
        ps = scheme.score_tokens(row.numpy())
        selfhash = params["seeding_scheme"] == "selfhash"
        width = int(params["context_width"])  # type: ignore[call-overload]
        for t in np.flatnonzero(ps.scored):
            prefix = row[t - width + 1 : t + 1] if selfhash else row[t - width : t]
            assert bool(ps.values[t]) == bool(ref._get_ngram_score(prefix, int(row[t])))
        if params["context_width"] == 1:
            # Same deduplication unit as transformers here, so the z-scores agree exactly.
            out = ref(row[None, :], return_dict=True)
            assert best.tokens_scored == int(out.num_tokens_scored[0])
            assert best.z_score == pytest.approx(float(out.z_score[0]), abs=1e-9)


def test_unmarked_text_is_not_detected_and_assay_generation_matches_stock(tiny_lm: LanguageModel) -> None:
    scheme = assay_key()
    det = TextWatermarkDetector(schemes=[scheme], tokenizer=tiny_lm.tokenizer)
    plain = stock_generate(tiny_lm, None, seed=1)
    assert not any(det.detect_ids(row.numpy())[0].detected for row in plain)
    # Assay's generation wrapper with this key produces exactly what stock transformers produces.
    from watermark.text import generate

    stock = stock_generate(tiny_lm, WatermarkingConfig(hashing_key=HASHING_KEY), seed=2)
    ours = generate(
        tiny_lm,
        ["Once upon a time", "The weather today"],
        scheme=scheme,
        max_new_tokens=50,
        top_k=50,
        chat=False,
        seed=2,
    )
    for row, g in zip(stock, ours, strict=True):
        eos = tiny_lm.tokenizer.eos_token_id
        expected = [t for t in row.tolist() if t != eos]
        assert list(g.token_ids) == expected[: len(g.token_ids)]


def test_config_errors() -> None:
    with pytest.raises(ConfigurationError, match="integer"):
        TransformersKGWScheme(make_key("hf", b"not-a-number", scheme="kgw-transformers"), vocab_size=100)
    with pytest.raises(ConfigurationError, match="seeding_scheme"):
        assay_key(seeding_scheme="minhash")
    with pytest.raises(ConfigurationError, match="for scheme"):
        scheme_for_key(make_key("x", scheme="kgw"), vocab_size=100).__class__(
            make_key("x", scheme="kgw-transformers"), vocab_size=100
        )
