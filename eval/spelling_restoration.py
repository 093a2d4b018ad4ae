"""Spelling restoration against random letter edits: the shipped detector before and after, same run.

*Before*: the references of an earlier revision (``--baseline``, built without restoration or
with an earlier one, without a surprise cap or with another); *after*: this revision's
(``detect/data/``). Each detector restores spelling and caps surprise as its references say
(:mod:`detect.spelling`, :data:`detect.cross_model.SURPRISE_CAP`). Both are the service's default
detector (both models, the screen at 0.25, ``ASSAY_AI_PRECISION=auto``), applied to the
evaluation half of the ``fast-detect-gpt`` sets and the Jargon File: every human text (realised
false-positive rate at 1 %, per domain, with Clopper–Pearson intervals), and every ChatGPT text
clean and with a share of its letters replaced by random letters (``eval/detection.py``'s
attack; the same seed edits the same letters in both columns).

    python eval/spelling_restoration.py --baseline b0d57ad   # -> eval/results/spelling_restoration.{json,md}

``47e2440`` has no restoration, ``092cbb5`` the first (``symspell-en-82765-d1``), ``b0d57ad`` the
second (``symspell-en-82765-d2c``) with the surprise cap.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tqdm import tqdm  # noqa: E402

from detect.calibration import HumanReference  # noqa: E402
from detect.defaults import load_reference  # noqa: E402
from detect.text import DEFAULT_SCREEN, Screen, TextAIDetector  # noqa: E402
from detect.training import domain_of, in_calibration_half  # noqa: E402
from eval.build_detector import corpus  # noqa: E402
from eval.detection import clopper_pearson  # noqa: E402
from eval.typed_results import write_json  # noqa: E402
from watermark.text.model import SECOND_MODEL, default_model_cache, load_model  # noqa: E402
from watermark.text.precision import as_precision, resolve_precision  # noqa: E402

FPR = 0.01
EDITS = (0.01, 0.03)


def edited(text: str, share: float, rng: random.Random) -> str:
    """``share`` of the letters replaced by random lower-case letters (``eval/detection.py``'s attack)."""
    return "".join(
        rng.choice("abcdefghijklmnopqrstuvwxyz") if c.isalpha() and rng.random() < share else c for c in text
    )


@dataclass(frozen=True)
class Column:
    """One detector's figures."""

    fpr: dict[str, tuple[int, int, float, float]]  # domain -> flagged, texts, 95 % interval
    tpr: dict[str, float]  # "clean", "1 % edits", ... -> ChatGPT TPR at 1 %
    tpr_per_domain: dict[str, dict[str, float]]
    seconds: float


@dataclass(frozen=True)
class Results:
    baseline: str
    before_spelling: str | None  # the baseline references' restoration
    after_spelling: str | None
    before_surprise_cap: float | None  # the two-model references' floor on a token's log-likelihood
    after_surprise_cap: float | None
    humans: int
    machine: int
    before: Column
    after: Column
    restored_human_texts: int  # human texts with a word restored (after)


def _flags(det: TextAIDetector, texts: Sequence[str], desc: str) -> list[bool]:
    out: list[bool] = []
    for b in tqdm(range(0, len(texts), 16), desc=desc, unit="batch of 16"):
        out += [
            r.verdict == "ai" and r.p_value is not None and r.p_value <= FPR for r in det.score_batch(texts[b : b + 16])
        ]
    return out


def column(
    det: TextAIDetector, humans: list[tuple[str, str]], machine: dict[str, list[tuple[str, str]]], label: str
) -> Column:
    t0 = time.perf_counter()
    flags = _flags(det, [t for t, _ in humans], f"{label}: humans")
    fpr: dict[str, tuple[int, int, float, float]] = {}
    for d in [*sorted({d for _, d in humans}), "all"]:
        got = [f for f, (_, x) in zip(flags, humans, strict=True) if d in ("all", x)]
        fpr[d] = (sum(got), len(got), *clopper_pearson(sum(got), len(got)))
    tpr: dict[str, float] = {}
    per: dict[str, dict[str, float]] = {}
    for kind, rows in machine.items():
        got = _flags(det, [t for t, _ in rows], f"{label}: ChatGPT, {kind}")
        tpr[kind] = sum(got) / len(got)
        for d in sorted({d for _, d in rows}):
            mine = [f for f, (_, x) in zip(got, rows, strict=True) if x == d]
            per.setdefault(kind, {})[d] = sum(mine) / len(mine)
    return Column(fpr, tpr, per, time.perf_counter() - t0)


def _reference_at(revision: str, name: str) -> HumanReference:
    raw = subprocess.run(
        ["git", "show", f"{revision}:detect/data/{name}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return HumanReference.from_json(raw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", required=True, help="a revision whose references restore spelling differently")
    ap.add_argument("--machine", type=int, default=0, help="ChatGPT texts (0: all of the evaluation half)")
    ap.add_argument("--humans", type=int, default=0, help="human texts (0: all of the evaluation half)")
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [r for r in corpus() if not in_calibration_half(r.text)]
    seen: set[str] = set()
    humans = []
    for r in rows:
        if r.label == 0 and r.text not in seen:
            seen.add(r.text)
            humans.append((r.text, domain_of(r.source)))
    chat = [(r.text, domain_of(r.source)) for r in rows if r.label == 1 and "gpt-3.5" in r.source]
    humans = humans[: args.humans or None]
    chat = chat[: args.machine or None]
    machine = {"clean": chat}
    for share in EDITS:
        rng = random.Random(0)
        machine[f"{share:.0%} letter edits"] = [(edited(t, share, rng), d) for t, d in chat]
    precision = resolve_precision("auto")
    lm = as_precision(load_model(cache_dir=default_model_cache()), precision)
    second = as_precision(load_model(SECOND_MODEL, cache_dir=default_model_cache()), precision, keep=False)
    after_refs = load_reference(), load_reference(single=True)
    before_refs = (
        _reference_at(args.baseline, "human_reference.json"),
        _reference_at(args.baseline, "human_reference_single.json"),
    )
    if (before_refs[0].spelling, before_refs[0].surprise_cap) == (after_refs[0].spelling, after_refs[0].surprise_cap):
        raise SystemExit("the baseline's references restore spelling and cap surprise as this revision's do")
    cols = {}
    for label, (cross, single) in (("before", before_refs), ("after", after_refs)):
        det = TextAIDetector(lm, cross, second=second, screen=Screen(single, DEFAULT_SCREEN))
        cols[label] = column(det, humans, machine, label)
    prepared = TextAIDetector(lm, after_refs[1]).prepare([t for t, _ in humans])
    res = Results(
        args.baseline,
        before_refs[0].spelling,
        after_refs[0].spelling,
        before_refs[0].surprise_cap,
        after_refs[0].surprise_cap,
        len(humans),
        len(chat),
        cols["before"],
        cols["after"],
        sum(n.spelling_restored > 0 for n in prepared),
    )
    write_json(args.out / "spelling_restoration.json", res)
    (args.out / "spelling_restoration.md").write_text(_md(res))
    print(_md(res))


def _head(title: str, columns: Sequence[str]) -> list[str]:
    """A titled Markdown table's first two rows (an empty first column for the row labels)."""
    return ["", title, "", "| | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]


def _restoration(name: str | None, cap: float | None) -> str:
    said = "no spelling restoration" if name is None else f"spelling restored by `{name}`"
    return said + ("" if cap is None else f", surprise capped at {cap:g} nats")


def _md(r: Results) -> str:
    kinds = list(r.after.tpr)
    before = _restoration(r.before_spelling, r.before_surprise_cap)
    after = _restoration(r.after_spelling, r.after_surprise_cap)
    lines = [
        "# Spelling restoration against letter edits",
        "",
        f"Command: `.venv/bin/python eval/spelling_restoration.py --baseline {r.baseline}`. The service's default "
        f"detector (both models, screened at {DEFAULT_SCREEN:g}) with the references of {r.baseline} (before: "
        f"{before}) and of this revision (after: {after}; the same texts and weights); evaluation half only: "
        f"{r.humans} human texts ({r.restored_human_texts} of them have a word restored), {r.machine} ChatGPT texts.",
        "",
        "| | " + " | ".join(f"ChatGPT TPR at 1 %, {k}" for k in kinds) + " | edits kept (3 %) |",
        "|---|" + "---|" * (len(kinds) + 1),
    ]
    for label, c in (("before", r.before), ("after", r.after)):
        kept = c.tpr[kinds[-1]] / c.tpr["clean"] if c.tpr["clean"] else 0.0
        lines.append(f"| {label} | " + " | ".join(f"{c.tpr[k]:.2f}" for k in kinds) + f" | {kept:.0%} |")
    domains = list(r.after.fpr)
    lines += _head(
        "Realised false-positive rate at 1 % (flagged / human texts, 95 % Clopper–Pearson interval):", domains
    )
    for label, c in (("before", r.before), ("after", r.after)):
        cells = [f"{k}/{n} ({lo:.1%}–{hi:.1%})" for k, n, lo, hi in (c.fpr[d] for d in domains)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += _head("ChatGPT TPR at 1 % per domain:", kinds)
    for label, c in (("before", r.before), ("after", r.after)):
        for d in sorted(c.tpr_per_domain[kinds[0]]):
            lines.append(f"| {label}, {d} | " + " | ".join(f"{c.tpr_per_domain[k][d]:.2f}" for k in kinds) + " |")
    lines += ["", f"Time: before {r.before.seconds:.0f} s, after {r.after.seconds:.0f} s (all texts, this machine)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
