"""Every registered text scheme: the same contract (null calibration, marks found, bad keys
refused), and what is particular to synthid, gumbel and unigram."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats
from transformers import LogitsProcessorList, SynthIDTextWatermarkingConfig

from eval.text_robustness import ForceEmoji
from tests.conftest import make_key
from watermark.errors import ConfigurationError, InvalidInput
from watermark.keys import WatermarkKey
from watermark.text import TextWatermarkDetector, generate, scheme_for_key, scheme_names
from watermark.text.gumbel import GumbelSampler, GumbelScheme
from watermark.text.model import LanguageModel
from watermark.text.synthid import SynthIDScheme, synthid_weights

VOCAB = 49152
SYNTHID_KEYS = [654, 400, 836, 123, 340, 443, 597, 160, 57, 29, 590, 639, 13, 715, 468, 990, 966, 226, 324, 585]


def key_for(scheme: str, i: int, **params: Any) -> WatermarkKey:
    """Key number ``i`` of ``scheme`` (kgw-transformers takes an integer secret)."""
    secret = str(1000 + i).encode() if scheme == "kgw-transformers" else f"secret-{scheme}-{i}".encode()
    return make_key(f"{scheme}-{i}", secret, scheme=scheme, **params)


@pytest.fixture(scope="module")
def human_ids(tokenizer: Any, fast_detect_gpt_dir: Path) -> list[np.ndarray]:
    """Token ids of 300 human texts (XSum and WritingPrompts), up to 200 tokens each."""
    out = []
    for name in ("xsum_gpt-3.5-turbo", "writing_gpt-3.5-turbo"):
        raw = json.loads((fast_detect_gpt_dir / f"{name}.raw_data.json").read_text())
        for text in raw["original"]:
            out.append(np.asarray(tokenizer(text, add_special_tokens=False)["input_ids"][:200], dtype=np.int64))
    return out


@pytest.fixture(scope="module")
def unmarked_ids(tiny_lm: LanguageModel) -> list[np.ndarray]:
    """Unmarked generations of the tiny model: 16 x 150 tokens."""
    gens = generate(tiny_lm, [f"Tell me about topic {i}." for i in range(16)], scheme=None, max_new_tokens=150, seed=3)
    return [np.asarray(g.token_ids, dtype=np.int64) for g in gens]


@pytest.mark.parametrize("name", scheme_names())
def test_null_calibration_of_every_scheme(
    name: str, human_ids: list[np.ndarray], unmarked_ids: list[np.ndarray], tokenizer: Any
) -> None:
    """On text not marked with the key, the exact p-value is uniform enough that the empirical
    false-positive rate at alpha lies in the 95 % binomial interval of alpha."""
    alpha = 0.05
    skip = frozenset(tokenizer.all_special_ids)
    pvalues = []
    # kgw-transformers draws a torch.randperm per context: fewer keys keep it quick
    human_keys, unmarked_keys = (1, 6) if name == "kgw-transformers" else (4, 16)
    for k in range(human_keys):  # keys x 300 human texts, then 16 unmarked generations x keys
        scheme = scheme_for_key(key_for(name, k), vocab_size=VOCAB)
        for ids in human_ids:
            ps = scheme.score_tokens(ids, skip_ids=skip)
            pvalues.append(float(scheme.pvalue(ps.values.sum(), ps.trial_counts().sum())))
    for k in range(human_keys, human_keys + unmarked_keys):
        scheme = scheme_for_key(key_for(name, k), vocab_size=VOCAB)
        for ids in unmarked_ids:
            ps = scheme.score_tokens(ids, skip_ids=skip)
            pvalues.append(float(scheme.pvalue(ps.values.sum(), ps.trial_counts().sum())))
    n = len(pvalues)
    hits = int(np.sum(np.asarray(pvalues) <= alpha))
    lo, hi = stats.binom.ppf([0.025, 0.975], n, alpha)
    # Discrete tests (binomial) may be conservative: only the upper side is a failure of validity,
    # but a rate far below alpha would mean the p-values are wrong too (no power to spare).
    assert hits <= hi, f"{name}: {hits} of {n} below alpha={alpha} (95 % interval {lo:.0f}-{hi:.0f})"
    assert hits >= 0.4 * lo, f"{name}: only {hits} of {n} below alpha={alpha}: p-values far too large"


@pytest.mark.parametrize("name", scheme_names())
def test_every_scheme_marks_generations_through_the_wrapper(name: str, tiny_lm: LanguageModel) -> None:
    key = key_for(name, 0, **({"bias": 4.0} if name == "kgw-transformers" else {}))
    scheme = scheme_for_key(key, vocab_size=tiny_lm.vocab_size)
    other = scheme_for_key(key_for(name, 1), vocab_size=tiny_lm.vocab_size)
    gens = generate(tiny_lm, ["A story:", "A recipe:"], scheme=scheme, max_new_tokens=120, min_new_tokens=120, seed=1)
    det = TextWatermarkDetector(schemes=[scheme, other], tokenizer=tiny_lm.tokenizer)
    for g in gens:
        best = det.detect_ids(g.token_ids)[0]
        assert best.key_id == key.key_id and best.verdict == "watermarked", best
        assert best.p_value < 1e-6
        assert g.watermark is not None and g.watermark["scheme"] == name


def test_synthid_generation_and_g_values_match_stock_transformers(tiny_lm: LanguageModel) -> None:
    """Text a transformers user marks with SynthIDTextWatermarkingConfig is the text Assay
    generates for the same keys, and Assay finds it with an exact p-value."""
    tok = tiny_lm.tokenizer
    tok.padding_side = "left"
    config = SynthIDTextWatermarkingConfig(keys=SYNTHID_KEYS, ngram_len=5)
    enc = tok(["Once upon a time", "The weather today"], return_tensors="pt", padding=True)
    torch.manual_seed(7)
    stock = tiny_lm.model.generate(
        **enc, watermarking_config=config, do_sample=True, top_k=50, max_new_tokens=80, pad_token_id=tok.pad_token_id
    )[:, enc["input_ids"].shape[1] :]
    key = make_key("sid", ",".join(map(str, SYNTHID_KEYS)).encode(), scheme="synthid")
    scheme = SynthIDScheme(key, vocab_size=tiny_lm.vocab_size)
    assert scheme.depth == len(SYNTHID_KEYS) and scheme.parameters()["keys"] == "transformers"
    ours = generate(
        tiny_lm,
        ["Once upon a time", "The weather today"],
        scheme=scheme,
        max_new_tokens=80,
        top_k=50,
        seed=7,
        chat=False,
    )
    processor = config.construct_processor(tiny_lm.vocab_size, torch.device("cpu"))
    det = TextWatermarkDetector(
        schemes=[scheme, SynthIDScheme(make_key("x", b"x", scheme="synthid"), vocab_size=tiny_lm.vocab_size)]
    )
    for row, gen in zip(stock, ours, strict=True):
        assert list(gen.token_ids) == row.tolist()[: len(gen.token_ids)]  # token for token
        ids = row.numpy()
        _, g, _ = scheme.g_values(ids)
        assert np.array_equal(g, processor.compute_g_values(row[None, :])[0].numpy())
        best = det.detect_ids(ids)[0]
        assert best.key_id == "sid" and best.p_value < 1e-6, best


def test_synthid_repeated_keys_count_one_coin() -> None:
    """transformers accepts a key twice; two layers that always read one table entry are one
    coin, so counting both would double evidence."""
    twice = SynthIDScheme(make_key("s", b"1,2,3,2", scheme="synthid"), vocab_size=VOCAB)
    p = twice.table_ones
    # every layer 1 in 5 tokens: three coins per token, so p ** 15 (four coins would be p ** 20)
    assert float(twice.pvalue(5.0, 5)) == pytest.approx(p**15, rel=1e-6)
    ps = twice.score_tokens(np.random.default_rng(0).integers(0, VOCAB, 300))
    assert set(np.unique(ps.values * 4)) <= {0.0, 1.0, 2.0, 3.0, 4.0}  # weights 1, 2, 1 over 4


def test_synthid_weighted_tail_is_the_exact_convolution() -> None:
    """For a few tokens the null law can be enumerated: every pattern of bits, weighted."""
    key = make_key("w", b"11,22,33", scheme="synthid", score="weighted")
    s = SynthIDScheme(key, vocab_size=VOCAB)
    weights, _ = synthid_weights(3)
    assert weights == [20, 11, 2]  # linspace(10, 1, 3) = 10, 5.5, 1 over the denominator 2
    p = s.table_ones
    one = {}
    for bits in range(8):
        b = [(bits >> d) & 1 for d in range(3)]
        v = sum(w * x for w, x in zip(weights, b, strict=True))
        one[v] = one.get(v, 0.0) + np.prod([p if x else 1 - p for x in b])
    law = {0: 1.0}
    for _ in range(4):  # four tokens
        nxt: dict[int, float] = {}
        for a, pa in law.items():
            for v, pv in one.items():
                nxt[a + v] = nxt.get(a + v, 0.0) + pa * pv
        law = nxt
    total = sum(weights)
    for units in (0, 30, 66, 100, 120, 132):
        exact = sum(q for v, q in law.items() if v >= units)
        got = float(s.pvalue(units / total, 4))
        assert got == pytest.approx(exact, rel=1e-9, abs=1e-15)
    # far in the tail the bound takes over: still a valid (never smaller) p-value
    assert float(s.pvalue(132 / total, 4)) >= law[132] * (1 - 1e-9)


def test_gumbel_sampler_draws_from_the_model_distribution() -> None:
    """Over keys, argmax r ** (1 / p) is an exact sample from p: distortion-free."""
    probs = torch.tensor([0.5, 0.25, 0.15, 0.1])
    logits = torch.log(probs)[None, :].repeat(4000, 1)
    counts = torch.zeros(4)
    for i in range(5):
        scheme = GumbelScheme(make_key(f"g{i}", f"gumbel-{i}".encode(), scheme="gumbel"), vocab_size=VOCAB)
        ctx = torch.randint(0, VOCAB, (4000, 2), generator=torch.Generator().manual_seed(i))
        out = GumbelSampler(scheme)(ctx, logits.clone())  # type: ignore[arg-type]
        counts += torch.bincount(out.argmax(-1), minlength=4)
    # 20,000 distinct contexts: every choice is an argmax, none a fallback to plain sampling
    chi2 = stats.chisquare(counts.numpy(), (probs * counts.sum()).numpy())
    assert chi2.pvalue > 1e-3, (counts, chi2)


def test_gumbel_repeats_itself_for_one_prompt_and_key(tiny_lm: LanguageModel) -> None:
    """The documented weakness: same prompt, same key, different sampling seeds, same text."""
    scheme = scheme_for_key(key_for("gumbel", 0), vocab_size=tiny_lm.vocab_size)
    a = generate(tiny_lm, "A story:", scheme=scheme, max_new_tokens=30, seed=1)[0]
    b = generate(tiny_lm, "A story:", scheme=scheme, max_new_tokens=30, seed=2)[0]
    c = generate(tiny_lm, "A story:", scheme=None, max_new_tokens=30, seed=1)[0]
    d = generate(tiny_lm, "A story:", scheme=None, max_new_tokens=30, seed=2)[0]
    assert a.token_ids == b.token_ids
    assert c.token_ids != d.token_ids


def test_gumbel_refuses_greedy_decoding(tiny_lm: LanguageModel) -> None:
    scheme = scheme_for_key(key_for("gumbel", 0), vocab_size=tiny_lm.vocab_size)
    with pytest.raises(InvalidInput, match="unmarked"):
        generate(tiny_lm, "A story:", scheme=scheme, max_new_tokens=5, temperature=0.0)


def test_unigram_survives_the_emoji_attack_that_defeats_kgw(tiny_lm: LanguageModel) -> None:
    """The attack: ask for an emoji between words, then delete the emoji. Every context a
    h >= 1 scheme saw held an emoji, so the cleaned text has lost its evidence; unigram has no
    context and keeps it."""
    tok = tiny_lm.tokenizer
    emoji = tok.convert_tokens_to_ids(tok.tokenize("😀"))[-1]
    enc = tok(["A story:"], return_tensors="pt")
    start = enc["input_ids"].shape[1]
    found = {}
    for name in ("unigram", "kgw"):
        scheme = scheme_for_key(key_for(name, 0), vocab_size=tiny_lm.vocab_size)
        torch.manual_seed(4)
        out = tiny_lm.model.generate(
            **enc,
            logits_processor=LogitsProcessorList([scheme.logits_processor(), ForceEmoji(emoji, start)]),
            do_sample=True,
            max_new_tokens=300,
            min_new_tokens=300,
            pad_token_id=tok.pad_token_id,
        )[0, start:].numpy()
        cleaned = out[out != emoji]
        assert cleaned.size >= 140
        found[name] = TextWatermarkDetector(schemes=[scheme]).detect_ids(cleaned)[0].p_value
    assert found["unigram"] < 1e-6, found
    assert found["kgw"] > 1e-3, found


@pytest.mark.parametrize(
    ("scheme", "params", "message"),
    [
        ("synthid", {"ngram_len": 1}, "ngram_len"),
        ("synthid", {"score": "median"}, "score"),
        ("synthid", {"depth": 0}, "depth"),
        ("gumbel", {"context_width": 0}, "context_width"),
        ("gumbel", {"seeding": "skipgram"}, "seeding"),
        ("unigram", {"gamma": 1.5}, "gamma"),
        ("unigram", {"context_width": 1}, "unknown parameter"),
    ],
)
def test_bad_parameters_are_configuration_errors(scheme: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        scheme_for_key(make_key("bad", b"s", scheme=scheme, **params), vocab_size=VOCAB)


def test_synthid_depth_must_match_the_keys_given() -> None:
    with pytest.raises(ConfigurationError, match="depth"):
        SynthIDScheme(make_key("bad", b"1,2,3", scheme="synthid", depth=4), vocab_size=VOCAB)
