"""Capping each token's surprise against letter edits, over reference draws: where the shipped cap comes from.

A misspelt word that spelling restoration cannot mend (:mod:`detect.spelling`) turns into tokens
the embedded model finds very unlikely, and a few of those outweigh a text's evidence. This study
floors the embedded model's per-token log-likelihood at ``-cap`` nats before the two-model
statistic sums it, refits the statistic's two weights and rebuilds its reference with the cap
(``detect.training.fit_cross_reference``), and judges it on the evaluation half: pooled ChatGPT
TPR at 1 % clean and under 1 % and 3 % random letter edits (``eval/spelling_restoration.py``'s
attack, the same seed), and the realised false-positive rate at 1 % on every human text. Each cap
is judged on the shipped hash split and on ``--draws`` random halvings of the calibration half's
human texts into fit and reference parts (the same draws for every cap): at 1 % a catch rate moves
by ±0.10 between draws (``eval/reference_draws.py``), so one split decides nothing.

Every text is restored and scored once, as the service scores (both models,
``ASSAY_AI_PRECISION=auto``); the two-model statistic is computed without the screen.

With ``--single`` the same study is made for the single-model statistic (the embedded model's
mean log-likelihood: the screen, and the whole AI-likelihood where the second model is off): it
has no weights to fit, so its reference is every human text of the calibration half the detector
does not abstain on (the shipped single-model reference holds every one) on the shipped split, and
a random half of them per draw.

    python eval/surprise_cap.py            # -> eval/results/surprise_cap.{json,md}
    python eval/surprise_cap.py --single   # -> eval/results/surprise_cap_single.{json,md}
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from detect.calibration import build_reference  # noqa: E402
from detect.cross_model import ScoredText, score_texts  # noqa: E402
from detect.defaults import load_reference  # noqa: E402
from detect.features import DEFAULT_MAX_TOKENS  # noqa: E402
from detect.spelling import SPELLING, SpellingRestorer, prepare  # noqa: E402
from detect.text import abstain_reason  # noqa: E402
from detect.training import LabelledText, distinct, fit_cross_reference, in_calibration_half, in_reference_part  # noqa: E402
from eval.build_detector import corpus  # noqa: E402
from eval.reference_draws import Spread, format_spread, random_halves, spread  # noqa: E402
from eval.spelling_restoration import EDITS, edited  # noqa: E402
from eval.typed_results import write_json  # noqa: E402
from watermark.text.model import SECOND_MODEL, default_model_cache, load_model  # noqa: E402
from watermark.text.precision import as_precision, resolve_precision  # noqa: E402

CAPS: tuple[float | None, ...] = (None, 12.0, 10.0, 8.0, 7.0, 6.0, 5.0, 4.0)
KINDS = ("clean", *(f"{s:.0%} letter edits" for s in EDITS))


@dataclass(frozen=True)
class Draw:
    """One split's figures for one cap."""

    tpr: dict[str, float]  # kind -> pooled ChatGPT TPR at 1 %
    flagged: int  # human texts of the evaluation half at p <= 1 %
    humans: int
    weights: tuple[float, float] | None  # c2 (second model's entropy), c1 (embedded model's); None: single model


@dataclass(frozen=True)
class Cap:
    cap: float | None
    shipped: Draw
    draws: list[Draw]
    tpr: dict[str, Spread]  # over the random draws
    kept: Spread  # 3 % edits TPR / clean TPR, per draw
    fpr: Spread


@dataclass(frozen=True)
class Results:
    draws: int
    precision: str
    machine: int
    humans: int
    caps: list[Cap]
    seconds: float
    statistic: str = "cross_model"  # or "log_likelihood" (--single)


def judge(
    cal: Sequence[LabelledText],
    cal_scores: Sequence[ScoredText],
    part: Sequence[bool],
    humans: Sequence[ScoredText],
    machine: dict[str, list[ScoredText]],
    vocabulary: np.ndarray | None,
    cap: float | None,
) -> Draw:
    """Fit and calibrate on the calibration rows (``part``: the reference part) with the surprise
    ``cap`` (the reference then applies it to every text it judges), judge the evaluation texts.
    Without a ``vocabulary`` the statistic is the single-model one: the reference part's human
    texts are its reference, and nothing is fitted."""
    if vocabulary is None:
        chosen = [s for r, s, k in zip(cal, cal_scores, part, strict=True) if k and r.label == 0]
        ref = build_reference("embedded", chosen, spelling=SPELLING, surprise_cap=cap)
    else:
        ref = fit_cross_reference(
            "embedded", cal, cal_scores, SECOND_MODEL, vocabulary, reference_part=part, surprise_cap=cap
        )

    def flags(texts: Sequence[ScoredText]) -> np.ndarray:
        found = [ref.p_value_of(s) for s in texts]
        return np.asarray([f is not None and f[1].p_value <= 0.01 for f in found])

    weights = None
    if ref.combination is not None:
        w = dict(zip(ref.combination.features, ref.combination.weights, strict=True))
        weights = (float(-w["neg_entropy_second"]), float(-w["neg_entropy_first"]))
    h = flags(humans)
    return Draw({k: float(flags(v).mean()) for k, v in machine.items()}, int(h.sum()), len(h), weights)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=20, help="random reference/fit splits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    ap.add_argument("--single", action="store_true", help="the single-model statistic instead of the two-model one")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = list(distinct(corpus()).values())
    cal = [r for r in rows if in_calibration_half(r.text) and abstain_reason(r.text) is None]
    held = [r for r in rows if not in_calibration_half(r.text) and abstain_reason(r.text) is None]
    human_texts = [r.text for r in held if r.label == 0]
    chat = [r.text for r in held if r.label == 1 and "gpt-3.5" in r.source]
    attacked = {KINDS[0]: chat}
    for kind, share in zip(KINDS[1:], EDITS, strict=True):
        edits = random.Random(0)
        attacked[kind] = [edited(t, share, edits) for t in chat]
    precision = resolve_precision("auto")
    lm = as_precision(load_model(cache_dir=default_model_cache()), precision)
    second = None
    vocabulary = None
    if not args.single:
        second = as_precision(load_model(SECOND_MODEL, cache_dir=default_model_cache()), precision, keep=False)
        vocabulary = load_reference().second_vocabulary
    restorer = SpellingRestorer.for_tokenizer(lm.tokenizer)

    def scored(texts: list[str]) -> list[ScoredText]:
        ready = [n.text for n in prepare(texts, restorer)]
        return score_texts(
            lm, ready, max_tokens=DEFAULT_MAX_TOKENS, second=second, vocabulary=vocabulary, progress=True
        )

    cal_scores = scored([r.text for r in cal])
    humans = scored(human_texts)
    machine = {k: scored(v) for k, v in attacked.items()}
    # the single-model reference ships with every human text of the calibration half
    shipped_part = [r.label == 0 and (args.single or in_reference_part(r.text)) for r in cal]
    human_rows = [i for i, r in enumerate(cal) if r.label == 0]
    parts = random_halves(human_rows, len(cal), args.draws, args.seed)
    caps = []
    for cap in CAPS:
        shipped = judge(cal, cal_scores, shipped_part, humans, machine, vocabulary, cap)
        draws = [judge(cal, cal_scores, p, humans, machine, vocabulary, cap) for p in parts]
        caps.append(
            Cap(
                cap,
                shipped,
                draws,
                {k: spread([d.tpr[k] for d in draws]) for k in KINDS},
                spread([d.tpr[KINDS[-1]] / max(d.tpr[KINDS[0]], 1e-9) for d in draws]),
                spread([d.flagged / d.humans for d in draws]),
            )
        )
        print(f"cap {cap}: {caps[-1].tpr}", file=sys.stderr)
    statistic = "log_likelihood" if args.single else "cross_model"
    res = Results(args.draws, str(precision), len(chat), len(human_texts), caps, time.perf_counter() - t0, statistic)
    name = "surprise_cap_single" if args.single else "surprise_cap"
    write_json(args.out / f"{name}.json", res)
    page = markdown(res)
    (args.out / f"{name}.md").write_text(page)
    print(page)


def markdown(r: Results) -> str:
    single = r.statistic == "log_likelihood"
    if single:
        what = (
            "`.venv/bin/python eval/surprise_cap.py --single`. The single-model statistic (the embedded model's "
            "mean log-likelihood) with each token's log-likelihood floored at -cap nats, its reference rebuilt "
            "with the cap (the shipped split: every human text of the calibration half the detector does not "
            "abstain on; a draw: a random half of them)"
        )
    else:
        what = (
            "`.venv/bin/python eval/surprise_cap.py`. The two-model statistic (no screen) with the embedded "
            "model's per-token log-likelihood floored at -cap nats, its weights refitted and its reference rebuilt "
            "with the cap"
        )
    lines = [
        "# Capping per-token surprise against letter edits" + (": the single-model statistic" if single else ""),
        "",
        f"Command: {what}; every text spelling-restored, scored in {r.precision}; evaluation half: {r.humans} human, "
        f"{r.machine} ChatGPT texts. Over {r.draws} random reference/fit splits: mean ± sd (5th–95th percentile).",
        "",
        "| cap (nats) | "
        + " | ".join(f"ChatGPT TPR at 1 %, {k}" for k in KINDS)
        + " | 3 % edits: share of clean kept | realised FPR at 1 % | shipped split: TPR "
        + " / ".join(KINDS)
        + ("; flagged humans |" if single else "; flagged humans; weights c2, c1 |"),
        "|---|" + "---|" * (len(KINDS) + 3),
    ]
    for c in r.caps:
        s = c.shipped
        lines.append(
            f"| {'none' if c.cap is None else f'{c.cap:g}'} | "
            + " | ".join(format_spread(c.tpr[k], digits=2) for k in KINDS)
            + f" | {format_spread(c.kept, digits=2)} | {format_spread(c.fpr, pct=True)} | "
            + " / ".join(f"{s.tpr[k]:.2f}" for k in KINDS)
            + f"; {s.flagged}/{s.humans}"
            + ("" if s.weights is None else f"; {s.weights[0]:g}, {s.weights[1]:g}")
            + " |"
        )
    lines += ["", f"Time: {r.seconds:.0f} s on this machine (scoring and every fit)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
