"""How much of the two-model statistic's catch rate is the draw of its human reference, and what the
second model's 128-token window costs in detection.

The shipped ``cross_model`` reference is one draw: the calibration half's human texts are split
by a hash into a part that fits the statistic's two weights and a part that makes the conformal
reference. At 1 % a bucket of fewer than 199 reference texts flags only texts above its most
machine-like human, so the catch rate at 1 % rests on a handful of texts. This study repeats the
fit and the reference on ``--draws`` random splits of the same texts (and the shipped split), for
the second model reading the whole scored text and reading the characters of the first
``WINDOW`` tokens, and judges each on the evaluation half: pooled ChatGPT TPR at 1 % and 5 %,
realised false-positive rate at 1 % on every human text, and the pooled AUROC (standardised
scores). Texts are scored once, as the service scores (``ASSAY_AI_PRECISION=auto``), with the
second model over the whole text; the windowed statistic takes the second model's tokens inside the
window from that scoring (the model is causal: the same values, up to the one token the window's
edge may cut, ``tests/detect/test_cross_model.py``).

    python eval/reference_draws.py   # -> eval/results/reference_draws.{json,md,png}
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from detect.text import abstain_reason  # noqa: E402
from detect.training import (  # noqa: E402
    fit_cross_reference,
    in_calibration_half,
    in_reference_part,
)
from eval.build_detector import ScoredCorpus, scored_corpus  # noqa: E402
from eval.detection import auc_by_ranks  # noqa: E402
from eval.typed_results import write_json  # noqa: E402
from watermark.text.model import SECOND_MODEL  # noqa: E402

# The window tried: the characters of the embedded model's first 128 tokens (half of a full text).
WINDOW = 128
WINDOWS = {"whole text": None, f"{WINDOW}-token window": WINDOW}


@dataclass(frozen=True)
class Draw:
    """One split's figures on the evaluation half."""

    tpr_1: float  # pooled ChatGPT, p <= 0.01
    tpr_5: float
    fpr_1: float  # every human text of the evaluation half
    flagged_1: int
    humans: int
    auroc: float  # pooled ChatGPT against every human, standardised scores
    weights: dict[str, float]  # the fitted weights that are not zero


@dataclass(frozen=True)
class Spread:
    mean: float
    sd: float
    low: float  # 5th percentile over the random draws
    high: float  # 95th


@dataclass(frozen=True)
class Window:
    shipped: Draw  # the hash split the shipped reference uses
    draws: list[Draw]
    tpr_1: Spread
    tpr_5: Spread
    fpr_1: Spread
    auroc: Spread


@dataclass(frozen=True)
class Results:
    draws: int
    precision: str
    windows: dict[str, Window]
    paired_tpr_1: Spread  # windowed minus whole text, the same draw
    windowed_better: int  # draws where the window caught more at 1 %
    seconds: float


def spread(values: Sequence[float]) -> Spread:
    a = np.asarray(values, dtype=np.float64)
    return Spread(float(a.mean()), float(a.std(ddof=1)), float(np.quantile(a, 0.05)), float(np.quantile(a, 0.95)))


def random_halves(humans: Sequence[int], rows: int, draws: int, seed: int) -> list[list[bool]]:
    """``draws`` random reference parts: half of the row indices ``humans`` each, as a mask over ``rows``."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(draws):
        chosen = set(rng.permutation(humans)[: len(humans) // 2].tolist())
        parts.append([i in chosen for i in range(rows)])
    return parts


def judge(
    scored: ScoredCorpus, cal: Sequence[bool], evaluation: Sequence[bool], part: Sequence[bool], window: int | None
) -> Draw:
    """Fit and calibrate on the calibration rows with ``part`` as the reference part, judge the
    evaluation rows."""
    rows, scores = scored.rows, scored.scores
    idx = [i for i, c in enumerate(cal) if c]
    ref = fit_cross_reference(
        scored.model,
        [rows[i] for i in idx],
        [scores[i] for i in idx],
        SECOND_MODEL,
        scored.vocabulary,
        window,
        reference_part=[part[i] for i in idx],
    )
    human_p, human_z, machine_p, machine_z = [], [], [], []
    for i, e in enumerate(evaluation):
        if not e or (rows[i].label == 1 and "gpt-3.5" not in rows[i].source):
            continue
        found = ref.p_value_of(scores[i])
        p, z = (1.0, -np.inf) if found is None else (found[1].p_value, found[1].standardized)
        (machine_p if rows[i].label else human_p).append(p)
        (machine_z if rows[i].label else human_z).append(z)
    mp, hp = np.asarray(machine_p), np.asarray(human_p)
    y = np.r_[np.zeros(len(human_z)), np.ones(len(machine_z))]
    assert ref.combination is not None
    c = ref.combination
    return Draw(
        float(np.mean(mp <= 0.01)),
        float(np.mean(mp <= 0.05)),
        float(np.mean(hp <= 0.01)),
        int(np.sum(hp <= 0.01)),
        len(hp),
        float(auc_by_ranks(y, np.r_[human_z, machine_z])),
        {f: float(w) for f, w in zip(c.features, c.weights, strict=True) if w},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=40, help="random reference/fit splits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    t0 = time.perf_counter()
    scored = scored_corpus(second=True)  # the whole text; the window is taken from it
    rows = scored.rows
    ok = [abstain_reason(t) is None for t in scored.texts]
    cal = [in_calibration_half(r.text) and o for r, o in zip(rows, ok, strict=True)]
    evaluation = [not in_calibration_half(r.text) and o for r, o in zip(rows, ok, strict=True)]
    humans = [i for i, (c, r) in enumerate(zip(cal, rows, strict=True)) if c and r.label == 0]
    parts = random_halves(humans, len(rows), args.draws, args.seed)
    shipped_part = [in_reference_part(r.text) for r in rows]
    windows = {}
    for name, window in WINDOWS.items():
        shipped = judge(scored, cal, evaluation, shipped_part, window)
        draws = [judge(scored, cal, evaluation, part, window) for part in parts]
        windows[name] = Window(
            shipped,
            draws,
            spread([d.tpr_1 for d in draws]),
            spread([d.tpr_5 for d in draws]),
            spread([d.fpr_1 for d in draws]),
            spread([d.auroc for d in draws]),
        )
        print(f"{name}: {windows[name].tpr_1}", file=sys.stderr)
    whole, windowed = (windows[k].draws for k in WINDOWS)
    diff = [b.tpr_1 - a.tpr_1 for a, b in zip(whole, windowed, strict=True)]
    results = Results(
        args.draws,
        scored.precision,
        windows,
        spread(diff),
        sum(d > 0 for d in diff),
        time.perf_counter() - t0,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "reference_draws.json", results)
    (args.out / "reference_draws.md").write_text("\n".join(summary(results)) + "\n")
    plot(results, args.out / "reference_draws.png")
    print("\n".join(summary(results)))


def format_spread(s: Spread, pct: bool = False, digits: int = 3) -> str:
    """``mean ± sd (5th–95th percentile)``, as percentages with one decimal or with ``digits``."""
    form = ".1%" if pct else f".{digits}f"
    return f"{s.mean:{form}} ± {s.sd:{form}} ({s.low:{form}}–{s.high:{form}})"


def summary(r: Results) -> list[str]:
    lines = [
        "# The human reference's draw, and the second model's window",
        "",
        f"Command: `.venv/bin/python eval/reference_draws.py`. The two-model statistic refitted and recalibrated "
        f"on {r.draws} random halvings of the calibration half's human texts (reference part / fit part) and on "
        f"the shipped hash split; judged on the evaluation half; scored in {r.precision}, as the service "
        "scores. Random draws: mean ± sd (5th–95th percentile).",
        "",
        "| second model reads | shipped split: ChatGPT TPR 1 % / 5 % | FPR 1 % | AUROC | weights "
        "| draws: ChatGPT TPR 1 % | TPR 5 % | FPR 1 % | AUROC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, w in r.windows.items():
        s = w.shipped
        weights = ", ".join(f"{k} {v:+.3g}" for k, v in s.weights.items())
        lines.append(
            f"| {name} | {s.tpr_1:.3f} / {s.tpr_5:.3f} | {s.flagged_1}/{s.humans} | {s.auroc:.4f} | {weights} | "
            f"{format_spread(w.tpr_1)} | {format_spread(w.tpr_5)} | {format_spread(w.fpr_1, True)} | "
            f"{format_spread(w.auroc)} |"
        )
    lines += [
        "",
        f"Paired over the draws (the window minus the whole text, same split): ChatGPT TPR at 1 % "
        f"{format_spread(r.paired_tpr_1)}; the window caught more in {r.windowed_better} of {r.draws} draws.",
        "",
        f"Run time: {r.seconds:.0f} s.",
    ]
    return lines


def plot(r: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    whole, windowed = (w for w in r.windows.values())
    names = list(r.windows)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    x = [d.tpr_1 for d in whole.draws]
    y = [d.tpr_1 for d in windowed.draws]
    ax.scatter(x, y, s=18, alpha=0.7, label="random draws")
    ax.scatter([whole.shipped.tpr_1], [windowed.shipped.tpr_1], marker="*", s=160, color="C3", label="shipped split")
    lo, hi = min(x + y) - 0.03, max(x + y) + 0.03
    ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(f"ChatGPT TPR at 1 %, second model reads the {names[0]}")
    ax.set_ylabel(f"… reads a {names[1]}")
    ax.set_title(f"One reference draw per point (sd over draws {whole.tpr_1.sd:.2f})")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
