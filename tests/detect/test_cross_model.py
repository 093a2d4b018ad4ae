"""The two-model statistic with the real models: the restricted vocabulary is exactly a
renormalised distribution, and the shipped two-model detector decides and says so."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import detect.text
from detect.cross_model import CROSS_FEATURES, score_texts, span_features
from detect.defaults import load_groups, load_reference, load_text_detector
from detect.features import score_tokens
from detect.text import Screen, TextAIDetector
from detect.training import in_calibration_half
from watermark.errors import ConfigurationError
from watermark.text import generate
from watermark.text.model import LanguageModel

TEXT = (
    "The committee met on Tuesday to review the budget. Members agreed that the library's opening hours "
    "should not be cut, although the roof repairs will have to wait until spring. Café owners nearby "
    "welcomed the decision."
)


@pytest.mark.slow
def test_restricted_vocabulary_is_a_renormalised_distribution(second: LanguageModel) -> None:
    # In float32 (the fixture scores in bfloat16, whose logits are too coarse for the exact comparison).
    second = LanguageModel(model=copy.deepcopy(second.model).float(), tokenizer=second.tokenizer, name=second.name)
    tok = second.tokenizer
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    # Every other token of the text is left out of the vocabulary: those targets join their own normaliser.
    vocabulary = np.asarray(sorted(set(range(5000)) | set(ids[::2])), dtype=np.int64)
    (restricted,) = score_tokens(second, [TEXT], vocabulary=vocabulary, ranks=False)
    with torch.no_grad():
        logits = second.model(torch.tensor([[tok.bos_token_id, *ids]])).logits[0, :-1].double()
    kept = torch.zeros(logits.shape[-1], dtype=torch.bool)
    kept[torch.as_tensor(vocabulary)] = True
    expected, entropy = [], []
    for z, t in zip(logits, ids, strict=True):
        zs = z[kept]
        lse = torch.logsumexp(zs, 0)
        expected.append(float(z[t] - (lse if kept[t] else torch.logaddexp(lse, z[t]))))
        p = torch.softmax(zs, 0)
        entropy.append(float(-(p * (zs - lse)).sum()))
    assert np.allclose(restricted.log_likelihood, expected, atol=2e-3)
    assert np.allclose(restricted.entropy, entropy, atol=2e-3)
    assert any(t not in set(vocabulary.tolist()) for t in ids)  # the out-of-vocabulary path ran
    (full,) = score_tokens(second, [TEXT], ranks=False)
    assert (restricted.log_likelihood >= full.log_likelihood - 1e-4).all()  # less mass to share


@pytest.mark.slow
def test_both_models_cover_the_same_characters(scorer: LanguageModel, second: LanguageModel) -> None:
    vocabulary = load_reference().second_vocabulary
    (s,) = score_texts(scorer, [TEXT * 6], max_tokens=64, second=second, vocabulary=vocabulary)
    assert s.second is not None and s.tokens == 64
    end = int(s.first.offsets[-1, 1])
    assert int(s.second.offsets[-1, 1]) <= end and end - int(s.second.offsets[-1, 1]) < 12
    # With a window the second model reads only the characters of the first 32 tokens, and what it
    # reads there is what it reads of the whole text (it is causal): the statistic is the same.
    (w,) = score_texts(scorer, [TEXT * 6], max_tokens=64, second=second, vocabulary=vocabulary, window=32)
    assert w.second is not None and w.first.log_likelihood.tolist() == s.first.log_likelihood.tolist()
    end = int(s.first.offsets[31, 1])
    assert int(w.second.offsets[-1, 1]) <= end and end - int(w.second.offsets[-1, 1]) < 12
    assert len(w.second.entropy) < 0.6 * len(s.second.entropy)
    # Up to the scoring precision: in bfloat16 the kernels round a 32-token and a 64-token pass of
    # the same prefix differently (up to ~1 % here on an AMX machine), and the Fast-DetectGPT
    # features, differences of sums near zero, move by up to ~0.015 in absolute terms.
    for span in ((4, 64), (40, 64)):
        assert np.allclose(span_features(w, *span, 32), span_features(s, *span, 32), rtol=0.02, atol=0.02)


@pytest.mark.slow
def test_shipped_two_model_detector(
    embedded: LanguageModel,
    scorer: LanguageModel,
    second: LanguageModel,
    fast_detect_gpt_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Held-out human texts (evaluation half, 3 domains) at a nominal 5 %: no more flagged than a
    binomial(24, 0.05) allows at 99.9 % (5); the embedded model's own greedy text is flagged at 1 %,
    and the report says which statistic decided. Screened, the second model runs only on the texts
    the embedded model alone does not place above the threshold, and those get the same verdict."""
    detector = load_text_detector(scorer, second=second, with_classifier=False)
    assert detector.reference.statistic_name == "cross_model" and detector.second is second
    humans: list[str] = []
    for name in ("xsum_gpt-3.5-turbo", "writing_gpt-3.5-turbo", "pubmed_gpt-3.5-turbo"):
        raw = json.loads((fast_detect_gpt_dir / f"{name}.raw_data.json").read_text())
        humans += [t for t in raw["original"] if not in_calibration_half(t)][:8]
    at5 = TextAIDetector(scorer, detector.reference, second=second, fpr=0.05)
    plain = at5.score_batch(humans)
    decided = [r for r in plain if r.verdict != "inconclusive"]
    assert len(decided) >= 18 and sum(r.verdict == "ai" for r in decided) <= 5

    screen = Screen(load_reference(single=True), 0.25)
    screened = TextAIDetector(scorer, detector.reference, second=second, fpr=0.05, screen=screen)
    ran: list[int] = []
    real = detect.text.with_second

    def counted(model: LanguageModel, texts: list[str], *args: Any, **kw: Any) -> Any:
        ran.append(len(texts))
        return real(model, texts, *args, **kw)

    monkeypatch.setattr(detect.text, "with_second", counted)
    out = screened.score_batch(humans)
    for a, b in zip(plain, out, strict=True):
        if b.screened_above is None:
            assert (b.verdict, b.statistic) == (a.verdict, a.statistic)
            # in bfloat16 a text's score moves by a few 1e-4 with the texts batched beside it
            assert b.score == pytest.approx(a.score, abs=2e-3)
        else:
            assert (b.verdict, b.statistic) == ("no-evidence", "log_likelihood") and b.p_value > 0.25
            assert "alone (the second model was not needed" in b.finding().meaning
    assert ran == [sum(b.screened_above is None and b.verdict != "inconclusive" for b in out)]
    assert 0 < ran[0] < len(humans)
    with pytest.raises(ValueError, match="threshold"):
        TextAIDetector(scorer, detector.reference, second=second, fpr=0.05, screen=Screen(screen.reference, 0.05))
    with pytest.raises(ConfigurationError, match="single-model"):
        TextAIDetector(scorer, detector.reference, second=second, screen=Screen(detector.reference, 0.25))
    gen = generate(
        embedded, ["Explain how a bicycle gear works."], scheme=None, max_new_tokens=90, temperature=0.0, chat=True
    )[0]
    routed = detector.score(gen.text)  # the shipped detector, with its genre groups: flagged wherever it is routed
    assert routed.verdict == "ai" and routed.reference_group in {"pooled", *load_groups().groups}
    r = TextAIDetector(scorer, detector.reference, second=second).score(gen.text)  # the pooled reference alone
    assert r.verdict == "ai" and r.statistic == "cross_model"
    s = screened.score(gen.text)
    assert (s.verdict, s.statistic, s.screened_above, s.p_value) == ("ai", "cross_model", None, r.p_value)
    assert set(CROSS_FEATURES) <= set(r.features) and "two-model statistic" in r.finding().meaning
    finding, sources = r.finding(), detector.reference.sources  # which reference it was calibrated against
    assert finding.reference_group == "pooled" and finding.reference_sources == dict(sources)
    assert {"pubmed_gpt-3.5-turbo", "jargon-file"} <= set(sources) and sum(sources.values()) >= finding.reference_size  # type: ignore[operator]
    assert f"pooled over {len(sources)} sources of human text" in finding.meaning
    with pytest.raises(ConfigurationError, match="second model"):
        TextAIDetector(scorer, detector.reference)


@pytest.mark.slow
@pytest.mark.parametrize("tile", [(128, 8192), (5, 3000)])
def test_tiled_statistics_equal_the_whole_softmax(
    embedded: LanguageModel, tile: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Running sums over tiles of logits (rows and vocabulary cut where a tile ends) give the
    log-likelihood, rank, entropy and variance of the whole softmax, in float64."""
    monkeypatch.setattr("detect.features._ROWS", tile[0])
    monkeypatch.setattr("detect.features._COLUMNS", tile[1])
    texts = [TEXT, TEXT[:90]]
    scored = score_tokens(embedded, texts)
    tok = embedded.tokenizer
    for text, s in zip(texts, scored, strict=True):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            z = embedded.model(torch.tensor([[tok.bos_token_id, *ids]])).logits[0, :-1].double()
        logp = torch.log_softmax(z, -1)
        p = logp.exp()
        target = torch.tensor(ids)
        zt = z.gather(-1, target[:, None])
        mean = (p * logp).sum(-1)
        assert np.allclose(s.log_likelihood, logp.gather(-1, target[:, None])[:, 0], atol=1e-4)
        assert np.allclose(s.entropy, -mean, atol=1e-4)
        assert np.allclose(s.variance, (p * (logp - mean[:, None]).square()).sum(-1), atol=2e-3)
        assert np.array_equal(np.exp(s.log_rank).round(), ((z > zt).sum(-1) + 1).numpy())
