"""Build the shipped detection assets (``detect/data/``): the two-model human reference
(``human_reference.json``: the ``cross_model`` weights, the second model's scoring vocabulary and
the conformal reference), the single-model reference (``human_reference_single.json``), the
classifier; ``--references-only`` rebuilds the references alone, with the genre groups
(``human_groups.json``, :mod:`detect.groups`).

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

from detect.calibration import HumanReference, build_reference  # noqa: E402
from detect.cross_model import SURPRISE_CAP, ScoredText, score_texts, with_second  # noqa: E402
from detect.defaults import load_reference  # noqa: E402
from detect.embeddings import EMBEDDING_DIM, SentenceEmbedder  # noqa: E402
from detect.features import DEFAULT_MAX_TOKENS  # noqa: E402
from detect.groups import MIN_GROUP_TEXTS, POOLED, Group, Groups, fit_router  # noqa: E402
from detect.spelling import SPELLING, SpellingRestorer, prepare  # noqa: E402
from detect.training import (  # noqa: E402
    LabelledText,
    distinct,
    fast_detect_gpt_sets,
    in_calibration_half,
    in_reference_part,
    train,
)
from eval.human_corpora import passages  # noqa: E402
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


GROUP_GENRES = {  # genre (eval/human_corpora.py) -> the group's human texts, in words
    "bible-web": "passages of the World English Bible",
    "debian-handbook": "passages of the Debian Administrator's Handbook",
}
GROUP_PASSAGES = 900  # passages drawn per genre (evenly thinned); about half are the calibration half


def _write(out: Path, name: str, text: str) -> None:
    tmp = out / f".{name}.part"
    tmp.write_text(text)
    tmp.replace(out / name)


def rebuild_references(out: Path, cache: Path) -> None:
    """Rescore the calibration half's human texts with the current spelling restoration and
    rewrite the references, keeping the shipped two-model weights, scoring vocabulary, window and
    classifier (what a full build would refit), the two-model ones with the surprise cap
    (:data:`detect.cross_model.SURPRISE_CAP`; with it the study's fit on this split keeps the
    shipped weights, ``eval/surprise_cap.py``): the statistic changes only by those, and each
    reference again holds it exactly. Scored in float32, as :func:`train` scores.

    With the genre groups (:data:`GROUP_GENRES`, :mod:`detect.groups`): the calibration half's
    passages of each genre join the benchmark's human texts; the router is fitted on the sentence
    embeddings of all of them (as the detector reads them: normalised, spelling restored), labelled
    ``pooled`` for the benchmark sources and by genre for the passages; then every text goes where
    the router sends it, so each reference, the pooled ones included, holds exactly the
    calibration-half human texts routed to it (a Mondrian partition). The pooled two-model
    reference keeps to the reference part of its texts (``detect/training.py``); a group's holds
    all of its texts (its weights were fitted on none of them)."""
    shipped, single = load_reference(), load_reference(single=True)
    if shipped.combination is None:
        raise SystemExit("the shipped reference is not a two-model one")
    human = [r for r in distinct(r for r in corpus() if in_calibration_half(r.text)).values() if r.label == 0]
    labels = [POOLED] * len(human)
    for genre in GROUP_GENRES:
        drawn = [LabelledText(p.text, 0, genre) for p in passages(genre, GROUP_PASSAGES)]
        mine = [r for r in drawn if in_calibration_half(r.text)]
        human += mine
        labels += [genre] * len(mine)
    lm = load_model(cache_dir=cache)
    second = load_model(SECOND_MODEL, cache_dir=cache)
    restored = prepare([r.text for r in human], SpellingRestorer.for_tokenizer(lm.tokenizer))
    texts = [n.text for n in restored]
    print(f"{sum(n.spelling_restored > 0 for n in restored)} of {len(human)} human texts have words restored")
    routed = [POOLED] * len(human)
    classes: tuple[str, ...] = (POOLED,)
    coef, intercept = np.zeros((1, EMBEDDING_DIM)), np.zeros(1)
    if GROUP_GENRES:
        embeddings = SentenceEmbedder().embed(texts)
        classes, coef, intercept = fit_router(embeddings, labels)
        routed = Groups(classes, coef, intercept, {}).route(embeddings)
        confusion = Counter(zip(labels, routed, strict=True))
        print("routed (source -> group): " + ", ".join(f"{a} -> {b}: {n}" for (a, b), n in sorted(confusion.items())))
    # the second model reads the pooled reference part and every group text
    needs_second = [g != POOLED or in_reference_part(r.text) for r, g in zip(human, routed, strict=True)]
    first = score_texts(lm, texts, max_tokens=DEFAULT_MAX_TOKENS, progress=True)
    both = with_second(
        second,
        [t for t, k in zip(texts, needs_second, strict=True) if k],
        [s for s, k in zip(first, needs_second, strict=True) if k],
        max_tokens=DEFAULT_MAX_TOKENS,
        vocabulary=shipped.second_vocabulary,
        window=shipped.second_window,
        progress=True,
    )
    second_of = dict(zip([i for i, k in enumerate(needs_second) if k], both, strict=True))

    def pair(group: str, cross_part: bool) -> tuple[HumanReference, HumanReference]:
        """The group's (two-model, single-model) references from the texts routed to it."""
        mine = [i for i, g in enumerate(routed) if g == group]
        crossed = [i for i in mine if not cross_part or in_reference_part(human[i].text)]
        cross = build_reference(
            lm.name,
            [second_of[i] for i in crossed],
            dict(Counter(human[i].source for i in crossed)),
            combination=shipped.combination,
            second_model=shipped.second_model,
            second_vocabulary=shipped.second_vocabulary,
            second_window=shipped.second_window,
            spelling=SPELLING,
            surprise_cap=SURPRISE_CAP,
        )
        sources = dict(Counter(human[i].source for i in mine))
        return cross, build_reference(lm.name, [first[i] for i in mine], sources, spelling=SPELLING)

    new_cross, new_single = pair(POOLED, cross_part=True)
    for label, old, new in (("two-model", shipped, new_cross), ("single-model", single, new_single)):
        if dict(old.sources) != dict(new.sources):
            print(f"{label}: the pooled reference's texts per source {dict(old.sources)} -> {dict(new.sources)}")
        same = sum(np.isin(np.round(new.scores[b], 6), old.scores[b]).sum() for b in new.scores)
        total = sum(len(v) for v in new.scores.values())
        print(f"{label}: {same} of {total} bucket scores unchanged")
    groups = {}
    for genre, description in GROUP_GENRES.items():
        cross, alone = pair(genre, cross_part=False)
        groups[genre] = Group(description, cross, alone)
        print(f"{genre}: {groups[genre].size} human texts, per source {dict(alone.sources)}")
        if groups[genre].size < MIN_GROUP_TEXTS:
            raise SystemExit(f"{genre}: {groups[genre].size} texts routed there, under {MIN_GROUP_TEXTS}")
    _write(out, "human_reference.json", new_cross.to_json())
    _write(out, "human_reference_single.json", new_single.to_json())
    if groups:
        built = Groups(classes, coef, intercept, groups)
        built.check_against(new_cross)
        _write(out, "human_groups.json", built.to_json())


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
        help="rescore the human texts with the current restoration and surprise cap and route them to the genre "
        "groups; keep weights and classifier",
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
    if args.out.resolve() == (REPO / "detect" / "data").resolve():
        print("routing the references to the genre groups (as --references-only does)")
        rebuild_references(args.out, args.cache)
    else:
        print(f"now route the references to the genre groups: install {args.out}'s files and run --references-only")


if __name__ == "__main__":
    main()
