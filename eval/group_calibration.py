"""What group-conditional (Mondrian) conformal p-values would buy, measured before they ship.

The shipped reference pools every human text, so the 1 % threshold is set by the most
predictable human domain (PubMed) and costs catch everywhere else. Here each statistic is
calibrated three ways on the calibration half and judged on the evaluation half:

- ``pooled``: one reference of every human text (what ships);
- ``routed``: one reference per *group*, the group being the domain a logistic regression on the
  text's MiniLM embedding predicts (a function of the text alone, so the p-value stays valid
  within each group); where the group holds fewer than ``MIN_REFERENCE`` (100) texts at the
  length the pooled reference would judge the text at, the pooled reference answers instead, and
  the figures count how often;
- ``oracle``: the same with the true domain (what perfect routing would give).

The router is fitted on the calibration half's machine texts and on the human texts outside the
two-model reference part (``in_reference_part``), so it never saw a text of that reference; the
single-model reference uses every calibration human text (as it ships), so part of it was seen
by the router (stated beside its figures). Statistics: ``log_likelihood`` (the embedded model
alone) and, with ``--second``, ``cross_model`` with the shipped weights (the second model scores
every text: ~3x the time).

    python eval/group_calibration.py [--second]   # -> eval/results/group_calibration.{json,md}
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from detect.calibration import HumanReference, build_reference  # noqa: E402
from detect.cross_model import ScoredText  # noqa: E402
from detect.defaults import load_reference  # noqa: E402
from detect.embeddings import SentenceEmbedder  # noqa: E402
from detect.text import abstain_reason  # noqa: E402
from detect.training import (  # noqa: E402
    LabelledText,
    domain_of,
    in_calibration_half,
    in_reference_part,
)
from eval.build_detector import scored_corpus  # noqa: E402
from eval.detection import clopper_pearson  # noqa: E402
from eval.typed_results import write_json  # noqa: E402

DOMAINS = ("pubmed", "writing", "xsum")
FPRS = (0.01, 0.05)
FAMILIES = ("gpt-3.5-turbo", "davinci")


@dataclass(frozen=True)
class Rate:
    k: int
    n: int
    cp95: tuple[float, float]

    @property
    def value(self) -> float:
        return self.k / max(self.n, 1)


@dataclass(frozen=True)
class DomainCell:
    """One domain (or ``all``) under one calibration."""

    humans: int
    fpr: dict[str, Rate]  # nominal level ("0.01") -> realised false-positive rate
    tpr: dict[str, float]  # machine family ("gpt-3.5-turbo", "davinci") -> TPR at 1 %
    pooled_answered: float  # share of the domain's texts the pooled reference answered for


@dataclass(frozen=True)
class Calibration:
    per_domain: dict[str, DomainCell]
    reference_sizes: dict[str, int]  # human reference texts per group (empty: one pooled reference)


@dataclass(frozen=True)
class Results:
    router_accuracy: float  # on the evaluation half
    precision: str
    statistics: dict[str, dict[str, Calibration]]  # statistic -> "pooled" / "routed" / "oracle"
    seconds: float


class Grouped:
    """A pooled reference and one per group. A group answers only where it holds enough texts for
    the same length bucket the pooled reference would judge the text at; elsewhere the pooled
    reference answers. (Taking the group's longest full bucket instead judged long xsum texts on
    their first few dozen tokens, where a group of ~100 texts still had enough: ChatGPT TPR 0.77
    -> 0.04 in the first run of this study.)"""

    def __init__(self, pooled: HumanReference, groups: dict[str, HumanReference]) -> None:
        self.pooled, self.groups = pooled, groups

    def p_value(self, text: ScoredText, group: str | None) -> tuple[float, bool] | None:
        """(p-value, whether the pooled reference answered for the group)."""
        ref = self.groups.get(group) if group is not None else None
        bucket = self.pooled.bucket_for(text.tokens)
        if ref is not None and bucket is not None and ref.bucket_for(text.tokens) == bucket:
            found = ref.p_value_of(text)
            assert found is not None
            return found[1].p_value, False
        found = self.pooled.p_value_of(text)
        return (found[1].p_value, group is not None) if found is not None else None


def build(
    make: Callable[[Sequence[ScoredText]], HumanReference],
    scores: Sequence[ScoredText],
    groups: Sequence[str],
    keep: Sequence[bool],
    pooled: HumanReference | None = None,
) -> tuple[Grouped, dict[str, int]]:
    """The references of the ``keep`` texts: ``pooled`` (made from all of them when not given) and
    one per group, with each group's size."""
    if pooled is None:
        pooled = make([s for s, k in zip(scores, keep, strict=True) if k])
    per: dict[str, HumanReference] = {}
    sizes: dict[str, int] = {}
    for g in sorted(set(groups)):
        part = [s for s, k, h in zip(scores, keep, groups, strict=True) if k and h == g]
        sizes[g] = len(part)
        if part:
            per[g] = make(part)
    return Grouped(pooled, per), sizes


def judge(
    grouped: Grouped,
    scores: Sequence[ScoredText],
    rows: Sequence[LabelledText],
    groups: Sequence[str | None],
    ev: Sequence[bool],
) -> dict[str, DomainCell]:
    """Per domain: ChatGPT and davinci TPR at 1 %, realised FPR at 1 % and 5 % (Clopper-Pearson),
    and the share of texts the pooled reference answered for."""
    found = [grouped.p_value(s, g) if e else None for s, g, e in zip(scores, groups, ev, strict=True)]

    def pick(label: int, d: str, family: str = "") -> list[tuple[float, bool]]:
        return [
            f
            for f, r in zip(found, rows, strict=True)
            if f is not None and r.label == label and d in ("all", domain_of(r.source)) and r.source.endswith(family)
        ]

    out: dict[str, DomainCell] = {}
    for d in (*DOMAINS, "jargon-file", "all"):
        human = pick(0, d)
        fpr = {}
        for level in FPRS:
            k = sum(p <= level for p, _ in human)
            fpr[str(level)] = Rate(k, len(human), clopper_pearson(k, len(human)))
        tpr = {f: float(np.mean([p <= 0.01 for p, _ in m])) for f in FAMILIES if (m := pick(1, d, f))}
        every = human + pick(1, d)
        out[d] = DomainCell(len(human), fpr, tpr, float(np.mean([fell for _, fell in every])) if every else 0.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--second", action="store_true", help="also the two-model statistic (the second model scores)")
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    t0 = time.perf_counter()
    cross = load_reference()
    scored = scored_corpus(second=args.second, window=cross.second_window)
    rows, texts, scores, precision = scored.rows, scored.texts, scored.scores, scored.precision
    embedded = SentenceEmbedder().embed(texts)
    cal = [in_calibration_half(r.text) for r in rows]
    ok = [abstain_reason(t) is None for t in texts]
    ev = [not c and o for c, o in zip(cal, ok, strict=True)]
    truth = [domain_of(r.source) for r in rows]
    ref_part = [c and r.label == 0 and in_reference_part(r.text) for c, r in zip(cal, rows, strict=True)]
    fit = [c and not k for c, k in zip(cal, ref_part, strict=True)]
    router = LogisticRegression(C=1.0, max_iter=2000).fit(
        embedded[np.asarray(fit)], [t for t, f in zip(truth, fit, strict=True) if f]
    )
    routed = [str(g) for g in router.predict(embedded)]
    accuracy = float(np.mean([a == b for a, b, e in zip(routed, truth, ev, strict=True) if e]))
    statistics: list[tuple[str, Callable[[Sequence[ScoredText]], HumanReference], list[bool]]] = [
        (
            "log_likelihood",
            lambda h: build_reference(scored.model, h),
            [c and r.label == 0 and o for c, r, o in zip(cal, rows, ok, strict=True)],
        ),
    ]
    if args.second:
        statistics.append(
            (
                "cross_model",
                lambda h: build_reference(
                    scored.model,
                    h,
                    combination=cross.combination,
                    second_model=cross.second_model,
                    second_vocabulary=cross.second_vocabulary,
                    second_window=cross.second_window,
                ),
                [k and o for k, o in zip(ref_part, ok, strict=True)],
            )
        )
    measured: dict[str, dict[str, Calibration]] = {}
    for name, make, keep in statistics:
        pooled = make([s for s, k in zip(scores, keep, strict=True) if k])
        entry = {"pooled": Calibration(judge(Grouped(pooled, {}), scores, rows, [None] * len(rows), ev), {})}
        for how, groups in (("routed", routed), ("oracle", truth)):
            grouped, sizes = build(make, scores, groups, keep, pooled)
            entry[how] = Calibration(judge(grouped, scores, rows, groups, ev), sizes)
        measured[name] = entry
    results = Results(accuracy, str(precision), measured, time.perf_counter() - t0)
    write_json(args.out / "group_calibration.json", results)
    (args.out / "group_calibration.md").write_text("\n".join(summary(results)) + "\n")
    print("\n".join(summary(results)))


def _tpr(cell: DomainCell, family: str) -> str:
    return f"{cell.tpr[family]:.2f}" if family in cell.tpr else "-"


def summary(r: Results) -> list[str]:
    lines = [
        "# Group-conditional (Mondrian) calibration: what it would buy (evaluation half)",
        "",
        f"Router (logistic regression on MiniLM embeddings, 4 domains): accuracy {r.router_accuracy:.3f} on the "
        "evaluation half. Where a group holds under 100 reference texts at the length the pooled reference "
        "judges a text at, the pooled reference answers (share of texts it answered for: last column). "
        f"Scored in {r.precision}, as the service scores. The router never saw a text of the two-model "
        "reference; the single-model reference (every calibration human text, as it ships) includes the "
        "human texts it was fitted on.",
        "",
        "| statistic | calibration | reference texts per group | pooled ChatGPT TPR 1 % "
        "| ChatGPT TPR 1 % pubmed / writing / xsum | davinci TPR 1 % pubmed / writing / xsum "
        "| realised FPR 1 % per domain (CP95 upper) | FPR 1 % all humans | pooled answered |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in r.statistics.items():
        for how in ("pooled", "routed", "oracle"):
            c = entry[how]
            per = c.per_domain
            sizes = ", ".join(f"{g} {n}" for g, n in c.reference_sizes.items()) or "one pooled"
            fprs = "; ".join(
                f"{d} {x.fpr['0.01'].k}/{x.fpr['0.01'].n} (≤ {x.fpr['0.01'].cp95[1]:.1%})"
                for d, x in per.items()
                if d != "all"
            )
            a = per["all"].fpr["0.01"]
            lines.append(
                f"| {name} | {how} | {sizes} | {_tpr(per['all'], FAMILIES[0])} | "
                + " / ".join(_tpr(per[d], FAMILIES[0]) for d in DOMAINS)
                + " | "
                + " / ".join(_tpr(per[d], FAMILIES[1]) for d in DOMAINS)
                + f" | {fprs} | {a.value:.1%} ({a.k}/{a.n}) | {per['all'].pooled_answered:.0%} |"
            )
    lines += ["", f"Run time: {r.seconds:.0f} s."]
    return lines


if __name__ == "__main__":
    main()
