"""Build the shipped detection assets (``detect/data/``): the two-model human reference
(``human_reference.json``: the ``cross_model`` weights, the second model's scoring vocabulary and
the conformal reference), the single-model reference (``human_reference_single.json``) and the
classifier.

Fitted on the calibration half (see ``detect/training.py``) of: the six ``fast-detect-gpt`` sets in
``eval/data/fast-detect-gpt/`` (human originals; GPT-3 davinci and ChatGPT continuations) and
the public-domain Jargon File paragraphs in ``eval/data/human_jargon.jsonl`` (human). The
evaluation half is left for ``eval/detection.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detect.calibration import build_reference  # noqa: E402
from detect.cross_model import SURPRISE_CAP, ScoredText, score_texts, with_second  # noqa: E402
from detect.defaults import load_reference  # noqa: E402
from detect.embeddings import SentenceEmbedder  # noqa: E402
from detect.features import DEFAULT_MAX_TOKENS  # noqa: E402
from detect.spelling import SPELLING, SpellingRestorer, prepare  # noqa: E402
from detect.training import (  # noqa: E402
    LabelledText,
    distinct,
    fast_detect_gpt_sets,
    in_calibration_half,
    in_reference_part,
    train,
)
from watermark.text.model import SECOND_MODEL, default_model_cache, load_model  # noqa: E402
from watermark.text.normalize import normalize_text  # noqa: E402
from watermark.text.precision import as_precision, resolve_precision  # noqa: E402

FAST_DETECT_GPT = REPO / "eval" / "data" / "fast-detect-gpt"  # MIT, see its README


def corpus() -> list[LabelledText]:
    rows = [r for rows in fast_detect_gpt_sets(FAST_DETECT_GPT).values() for r in rows]
    for line in (REPO / "eval" / "data" / "human_jargon.jsonl").read_text().splitlines():
        rows.append(LabelledText(json.loads(line)["text"], 0, "jargon-file"))
    return rows


@dataclass(frozen=True)
class ScoredCorpus:
    """Every distinct text of :func:`corpus`, normalised and scored as the service scores."""

    rows: list[LabelledText]
    texts: list[str]  # normalised, as scored
    scores: list[ScoredText]
    precision: str
    model: str  # the embedded model's name
    vocabulary: npt.NDArray[np.int64] | None  # the second model's scoring vocabulary (the shipped one)


def scored_corpus(*, second: bool, window: int | None = None) -> ScoredCorpus:
    """The corpus scored in the service's precision (``ASSAY_AI_PRECISION=auto``) by the embedded
    model and, with ``second``, by the second model over the shipped scoring vocabulary (over the
    characters of the first ``window`` tokens, all of each text when ``None``), with progress bars."""
    rows = list(distinct(corpus()).values())
    texts = [normalize_text(r.text).text for r in rows]
    precision = resolve_precision("auto")
    lm = as_precision(load_model(cache_dir=default_model_cache()), precision)
    vocabulary = load_reference().second_vocabulary
    other = None
    if second:
        other = as_precision(load_model(SECOND_MODEL, cache_dir=default_model_cache()), precision, keep=False)
    scores = score_texts(
        lm,
        texts,
        max_tokens=DEFAULT_MAX_TOKENS,
        second=other,
        vocabulary=vocabulary,
        window=window,
        progress=True,
    )
    return ScoredCorpus(rows, texts, scores, str(precision), lm.name, vocabulary)


def rebuild_references(out: Path, cache: Path) -> None:
    """Rescore the calibration half's human texts with the current spelling restoration and
    rewrite both references, keeping the shipped two-model weights, scoring vocabulary, window and
    classifier (what a full build would refit), the two-model one with the surprise cap
    (:data:`detect.cross_model.SURPRISE_CAP`; with it the study's fit on this split keeps the
    shipped weights, ``eval/surprise_cap.py``): the statistic changes only by those, and each
    reference again holds it exactly. Scored in float32, as :func:`train` scores."""
    shipped, single = load_reference(), load_reference(single=True)
    if shipped.combination is None:
        raise SystemExit("the shipped reference is not a two-model one")
    cal = list(distinct(r for r in corpus() if in_calibration_half(r.text)).values())
    human = [r for r in cal if r.label == 0]
    part = [in_reference_part(r.text) for r in human]
    lm = load_model(cache_dir=cache)
    second = load_model(SECOND_MODEL, cache_dir=cache)
    restorer = SpellingRestorer.for_tokenizer(lm.tokenizer)
    restored = prepare([r.text for r in human], restorer)
    texts = [n.text for n in restored]
    print(f"{sum(n.spelling_restored > 0 for n in restored)} of {len(human)} human texts have words restored")
    first = score_texts(lm, texts, max_tokens=DEFAULT_MAX_TOKENS, progress=True)
    both = with_second(
        second,
        [t for t, k in zip(texts, part, strict=True) if k],
        [s for s, k in zip(first, part, strict=True) if k],
        max_tokens=DEFAULT_MAX_TOKENS,
        vocabulary=shipped.second_vocabulary,
        window=shipped.second_window,
        progress=True,
    )

    def sources(keep: list[bool]) -> dict[str, int]:
        return dict(Counter(r.source for r, k in zip(human, keep, strict=True) if k))

    new_single = build_reference(lm.name, first, sources([True] * len(human)), spelling=SPELLING)
    new_cross = build_reference(
        lm.name,
        both,
        sources(part),
        combination=shipped.combination,
        second_model=shipped.second_model,
        second_vocabulary=shipped.second_vocabulary,
        second_window=shipped.second_window,
        spelling=SPELLING,
        surprise_cap=SURPRISE_CAP,
    )
    for label, old, new in (("two-model", shipped, new_cross), ("single-model", single, new_single)):
        if dict(old.sources) != dict(new.sources):
            raise SystemExit(f"{label}: the rebuilt reference's texts differ from the shipped one's")
        same = sum(np.isin(np.round(new.scores[b], 6), old.scores[b]).sum() for b in new.scores)
        total = sum(len(v) for v in new.scores.values())
        print(f"{label}: {same} of {total} bucket scores unchanged by the restoration")
    for name, ref in (("human_reference.json", new_cross), ("human_reference_single.json", new_single)):
        tmp = out / f".{name}.part"
        tmp.write_text(ref.to_json())
        tmp.replace(out / name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=REPO / "detect" / "data")
    ap.add_argument("--cache", type=Path, default=default_model_cache())
    ap.add_argument(
        "--second-window",
        type=int,
        help="the second model reads the characters of the embedded model's first N tokens (default: all)",
    )
    ap.add_argument(
        "--references-only",
        action="store_true",
        help="rescore the human texts with the current restoration and surprise cap; keep weights and classifier",
    )
    args = ap.parse_args()
    if args.references_only:
        t = time.perf_counter()
        rebuild_references(args.out, args.cache)
        print(f"rebuilt in {time.perf_counter() - t:.0f} s")
        return
    lm = load_model(cache_dir=args.cache)
    second = load_model(SECOND_MODEL, cache_dir=args.cache)
    t = time.perf_counter()
    trained = train(lm, corpus(), embedder=SentenceEmbedder(), second=second, second_window=args.second_window)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("human_reference.json", trained.reference.to_json()),
        ("human_reference_single.json", trained.single_reference.to_json()),
        ("classifier.json", trained.classifier.to_json(**trained.meta)),
    ):
        tmp = args.out / f".{name}.part"
        tmp.write_text(text)
        tmp.replace(args.out / name)
    print(f"built in {time.perf_counter() - t:.0f} s")
    for label, ref in (("two-model", trained.reference), ("single-model", trained.single_reference)):
        sizes = {b: len(v) for b, v in ref.scores.items()}
        print(f"{label} reference: sizes per bucket {sizes}; sources {dict(ref.sources)}")
    if trained.reference.combination is not None:
        c = trained.reference.combination
        print("two-model weights:", {f: round(float(w), 3) for f, w in zip(c.features, c.weights, strict=True)})
    print(f"classifier trained on {trained.meta['trained_on']}")


if __name__ == "__main__":
    main()
