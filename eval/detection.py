"""Zero-shot AI-likelihood benchmark on the evaluation half only: the two-model statistic
(``cross_model``, the default) side by side with the embedded model's alone (``log_likelihood``),
same texts, same run.

Sets: the six ``fast-detect-gpt`` sets (human originals vs GPT-3 davinci / ChatGPT
continuations), the Jargon File paragraphs of the evaluation half (human), and texts generated
here by the embedded model (greedy, T=0.7 top-p 0.9, T=1.0, repetition penalty 1.2) from
``eval/data/prompts.txt``. Attacks on ChatGPT texts: zero-width spaces, homoglyphs, random letter
edits, and a paraphrase by the embedded model. The shipped references and classifier were fitted
on the other half (``eval/build_detector.py``); nothing reported here was calibrated on.

Every text is scored once with both models; both statistics are computed from those scores.
Writes ``eval/results/detection.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from scipy.stats import beta, rankdata  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402
from tqdm import tqdm  # noqa: E402

from detect.cross_model import score_texts  # noqa: E402
from detect.defaults import load_classifier, load_groups, load_reference  # noqa: E402
from detect.features import DEFAULT_MAX_TOKENS  # noqa: E402
from detect.text import DEFAULT_SCREEN, AiLikelihood, Screen, TextAIDetector  # noqa: E402
from detect.training import LabelledText, fast_detect_gpt_sets, in_calibration_half  # noqa: E402
from watermark.text import generate  # noqa: E402
from watermark.text.model import SECOND_MODEL, LanguageModel, default_model_cache, load_model  # noqa: E402
from watermark.text.precision import as_precision, resolve_precision  # noqa: E402

FAST_DETECT_GPT = REPO / "eval" / "data" / "fast-detect-gpt"  # MIT, see its README
ZW = "\u200b"
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"}
STATISTICS = ("cross_model", "screened", "log_likelihood")
TITLES = {
    "cross_model": "two-model (`cross_model`)",
    "screened": f"two-model, screened above {DEFAULT_SCREEN:.0%}, genre groups (default)",
    "log_likelihood": "embedded model alone (`log_likelihood`)",
}
SCREENS = (0.05, 0.1, 0.25, 0.5, 1.0)  # thresholds compared in the screen table
FPRS = (0.01, 0.05)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def auc_by_ranks(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """AUROC of each row (Mann-Whitney U with average ranks for ties, as ``roc_auc_score``).

    Args:
        y: labels, shape (..., n), 1 for machine; every row holds both labels.
        s: scores, shape (..., n), higher means machine.
    """
    pos = y.astype(bool)
    ranks = rankdata(s, axis=-1)
    n1 = pos.sum(-1)
    n0 = pos.shape[-1] - n1
    return (np.where(pos, ranks, 0.0).sum(-1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def bootstrap_auc(y: np.ndarray, s: np.ndarray, reps: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """AUROC with a percentile bootstrap 95 % interval (resamples with one class only are dropped);
    all resamples ranked at once (the same draws as one ``integers(0, n, n)`` call per resample)."""
    rng = np.random.default_rng(seed)
    auc = float(auc_by_ranks(y, s))
    i = rng.integers(0, len(y), (reps, len(y)))
    yy, ss = y[i], s[i]
    both = (yy == 1).any(-1) & (yy == 0).any(-1)
    vals = auc_by_ranks(yy[both], ss[both])
    return auc, float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def attack(text: str, kind: str, rng: random.Random) -> str:
    if kind == "zero-width":
        return "".join(c + (ZW if i % 3 == 2 else "") for i, c in enumerate(text))
    if kind == "homoglyphs":
        return "".join(HOMOGLYPHS[c] if c in HOMOGLYPHS and rng.random() < 0.3 else c for c in text)
    if kind == "char-edits":  # 3 % of letters replaced by a random letter
        return "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz") if c.isalpha() and rng.random() < 0.03 else c for c in text
        )
    raise ValueError(kind)


def own_generations(lm: LanguageModel, prompts: list[str], tokens: int) -> dict[str, list[LabelledText]]:
    configs: dict[str, dict[str, float]] = {
        "smollm2-greedy": {"temperature": 0.0},
        "smollm2-t0.7-p0.9": {"temperature": 0.7, "top_p": 0.9},
        "smollm2-t1.0": {"temperature": 1.0},
        "smollm2-rep1.2": {"temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.2},
    }
    out = {}
    for name, kw in tqdm(configs.items(), desc="generating", unit="config"):
        gens = generate(
            lm, prompts, scheme=None, max_new_tokens=tokens, min_new_tokens=tokens // 2, seed=7, chat=True, **kw
        )
        out[name] = [LabelledText(g.text, 1, name) for g in gens]
    return out


def paraphrased(lm: LanguageModel, texts: list[str], tokens: int) -> list[str]:
    """Each text rewritten by the embedded model (word-level paraphrase; chat instruction, T=0.7)."""
    prompts = [
        f"Rewrite the following text in your own words. Keep every fact and the same length.\n\n{t}" for t in texts
    ]
    out: list[str] = []
    for i in tqdm(range(0, len(prompts), 8), desc="paraphrasing", unit="batch"):
        gens = generate(lm, prompts[i : i + 8], scheme=None, max_new_tokens=tokens, temperature=0.7, seed=i, chat=True)
        out += [g.text.strip() for g in gens]
    return out


# -- scoring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdicts:
    """Both statistics' verdicts on one text (scored once)."""

    key: str  # SHA-256 of the text: each distinct text counts once
    tokens: int
    by: dict[str, AiLikelihood]


class Scorer:
    """Scores texts once with both models, as the service does (both in its default precision,
    ``ASSAY_AI_PRECISION=auto``), and applies every detector to the same scores (their own code)."""

    def __init__(self, lm: LanguageModel, second: LanguageModel, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        cross, single = load_reference(), load_reference(single=True)
        self.precision = resolve_precision("auto")
        self.fp32 = (lm, second)
        self.lm, self.second = as_precision(lm, self.precision), as_precision(second, self.precision)
        self.vocabulary, self.window = cross.second_vocabulary, cross.second_window
        self.max_tokens = max_tokens
        self.detectors = {
            "cross_model": TextAIDetector(self.lm, cross, second=self.second, classifier=load_classifier()),
            "screened": TextAIDetector(
                self.lm, cross, second=self.second, screen=Screen(single, DEFAULT_SCREEN), groups=load_groups()
            ),
            "log_likelihood": TextAIDetector(self.lm, single),
        }

    def run(self, texts: Sequence[str], *, desc: str = "scoring") -> list[Verdicts]:
        out = []
        for b in tqdm(range(0, len(texts), 32), desc=desc, unit="batch of 32", disable=len(texts) <= 32):
            batch = list(texts[b : b + 32])
            norm = self.detectors["cross_model"].prepare(batch)  # every reference restores spelling alike
            scored = score_texts(
                self.lm,
                [n.text for n in norm],
                max_tokens=self.max_tokens,
                second=self.second,
                vocabulary=self.vocabulary,
                window=self.window,
            )
            groups = self.detectors["screened"].route([n.text for n in norm])  # the others have no groups
            for t, n, s, g in zip(batch, norm, scored, groups, strict=True):
                by = {k: d.verdict_for(n, s, g) for k, d in self.detectors.items()}
                out.append(Verdicts(hashlib.sha256(t.encode()).hexdigest(), s.tokens, by))
        return out

    def seconds_per_128_tokens(self, human: Sequence[str], machine: Sequence[str]) -> dict[str, float]:
        """Scoring cost of each statistic on the same texts (no classifier): float32 weights, and as
        the service scores by default (both models in bfloat16 where the CPU has native bfloat16,
        ``ASSAY_AI_PRECISION=auto``); the screened detector as it runs (``score_batch``: the second
        model only where the screen passes a text on), on the human and the machine texts apart."""
        cost = {}
        texts = [*human, *machine]
        for label, (first, second) in (("", self.fp32), (" (service default)", (self.lm, self.second))):
            for name, other in (("log_likelihood", None), ("cross_model", second)):
                t0 = time.perf_counter()
                scored = score_texts(
                    first,
                    texts,
                    max_tokens=self.max_tokens,
                    second=other,
                    vocabulary=self.vocabulary,
                    window=self.window,
                )
                cost[name + label] = (time.perf_counter() - t0) / sum(s.tokens for s in scored) * 128
        for part, rows in (("human texts", human), ("machine texts", machine)):
            t0 = time.perf_counter()
            verdicts = self.detectors["screened"].score_batch(rows)
            cost[f"screened (service default, {part})"] = (
                (time.perf_counter() - t0) / sum(v.tokens for v in verdicts) * 128
            )
            cost[f"screened: second model run on ({part})"] = sum(v.screened_above is None for v in verdicts) / len(
                verdicts
            )
        cost["precision (service default)"] = 16.0 if self.precision == "bf16" else 32.0
        return cost


def distinct(rows: list[Verdicts]) -> list[Verdicts]:
    """Each text once: 61 PubMed human texts are in both PubMed sets, and a text is one observation."""
    return list({r.key: r for r in reversed(rows)}.values())[::-1]


# -- metrics --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    value: float
    k: int
    n: int
    cp95: tuple[float, float]


@dataclass(frozen=True)
class Auroc:
    value: float
    ci95: tuple[float, float]


@dataclass
class Metrics:
    """One statistic on one set: human vs machine texts."""

    human: int
    machine: int
    abstention_rate: float
    auroc: Auroc | None = None
    auroc_classifier: Auroc | None = None
    tpr: dict[str, float] = field(default_factory=dict)  # "0.01" -> TPR
    realised_fpr: dict[str, Rate] = field(default_factory=dict)


def rate(k: int, n: int) -> Rate:
    return Rate(k / max(n, 1), k, n, clopper_pearson(k, n))


def metrics(h: list[Verdicts], m: list[Verdicts], stat: str) -> Metrics:
    hk = [r.by[stat] for r in h if r.by[stat].verdict != "inconclusive"]
    mk = [r.by[stat] for r in m if r.by[stat].verdict != "inconclusive"]
    out = Metrics(len(h), len(m), 1 - (len(hk) + len(mk)) / max(len(h) + len(m), 1))
    y = np.array([0] * len(hk) + [1] * len(mk))
    if len(set(y)) == 2 and stat != "screened":  # screened scores mix two references: no one ordering
        s = np.array([x.standardized_score for x in hk + mk], dtype=np.float64)
        auc, lo, hi = bootstrap_auc(y, s)
        out.auroc = Auroc(auc, (lo, hi))
        prob = np.array([x.classifier_probability for x in hk + mk], dtype=np.float64)
        if not np.isnan(prob).any():
            auc, lo, hi = bootstrap_auc(y, prob)
            out.auroc_classifier = Auroc(auc, (lo, hi))
    for fpr in FPRS:
        out.tpr[str(fpr)] = sum(x.p_value is not None and x.p_value <= fpr for x in mk) / max(len(mk), 1)
        out.realised_fpr[str(fpr)] = rate(sum(x.p_value is not None and x.p_value <= fpr for x in hk), len(hk))
    return out


@dataclass
class Results:
    seconds_per_128_tokens: dict[str, float]
    per_set: dict[str, dict[str, Metrics]]  # set -> statistic -> metrics
    pooled: dict[str, dict[str, Metrics]]
    realised_fpr_per_domain: dict[str, dict[str, dict[str, Rate]]]  # domain -> statistic -> fpr -> rate
    attacks: dict[str, dict[str, dict[str, float]]]  # attack -> statistic -> {"tpr_at_0.01", ...}
    reference: dict[str, dict[str, object]]
    weights: dict[str, float]
    settings: dict[str, object]
    screens: dict[str, dict[str, float]] = field(default_factory=dict)  # threshold -> figure -> value


def flagged_screened(v: Verdicts, above: float, fpr: float) -> bool:
    """Whether the two-model detector screened at ``above`` flags a text at ``fpr``: from the two
    statistics' own verdicts (the screen's reference is the single-model one)."""
    p1, p2 = v.by["log_likelihood"].p_value, v.by["cross_model"].p_value
    return (p1 is None or p1 <= above) and p2 is not None and p2 <= fpr


def screen_table(h: list[Verdicts], m: dict[str, list[Verdicts]]) -> dict[str, dict[str, float]]:
    """Per screen threshold: pooled TPR at 1 % per machine family, realised FPR at 1 % and 5 %, and
    the share of human and machine texts the second model runs on."""
    families = {"ChatGPT": "gpt-3.5", "davinci": "davinci", "embedded model": "smollm2"}
    machine = [x for rows in m.values() for x in rows]
    kept_h = [x for x in h if x.by["cross_model"].verdict != "inconclusive"]
    kept_m = [x for x in machine if x.by["cross_model"].verdict != "inconclusive"]
    out = {}
    for above in SCREENS:
        row = {}
        for fam, word in families.items():
            rows = [x for k, v in m.items() if word in k for x in v if x.by["cross_model"].verdict != "inconclusive"]
            row[f"{fam} TPR at 1 %"] = sum(flagged_screened(x, above, 0.01) for x in rows) / max(len(rows), 1)
        for f in FPRS:
            row[f"FPR at {f:.0%}"] = sum(flagged_screened(x, above, f) for x in kept_h) / max(len(kept_h), 1)
        for part, rows in (("human", kept_h), ("machine", kept_m)):
            p1 = [x.by["log_likelihood"].p_value for x in rows]
            row[f"second model runs on ({part})"] = sum(p is None or p <= above for p in p1) / max(len(rows), 1)
        out[f"{above:g}"] = row
    return out


def _tprs(rows: list[Verdicts], stat: str) -> dict[str, float]:
    kept = [r.by[stat] for r in rows if r.by[stat].verdict != "inconclusive"]
    out = {f"tpr_at_{f}": sum(x.p_value is not None and x.p_value <= f for x in kept) / max(len(kept), 1) for f in FPRS}
    out["texts"] = float(len(rows))
    out["abstained"] = float(len(rows) - len(kept))
    return out


# -- report ---------------------------------------------------------------------------------

TARGETS = {
    "pooled ChatGPT TPR at 1 %": ">= 0.85",
    "davinci AUROC (each set)": ">= 0.85",
    "embedded model T 1.0 AUROC": ">= 0.90",
    "realised FPR at 1 % (each domain)": "<= 1.5 %",
    "realised FPR at 5 % (each domain)": "<= 7 %",
    "seconds per 128 tokens (both models)": "<= 0.5",
}


def _auc(x: Auroc | None) -> str:
    return f"{x.value:.3f} [{x.ci95[0]:.3f}, {x.ci95[1]:.3f}]" if x else "-"


def _rate(x: Rate) -> str:
    return f"{x.value:.1%} ({x.k}/{x.n}; CP95 {x.cp95[0]:.1%}-{x.cp95[1]:.1%})"


def summary(r: Results) -> list[str]:
    cols = [st for st in STATISTICS if st in r.pooled["chatgpt"]]  # runs before the screen had two columns

    def row(label: str, cell: Callable[[str], str], target: str = "") -> str:
        return f"| {label} | " + " | ".join(cell(st) for st in cols) + f" | {target} |"

    lines = ["| figure | " + " | ".join(TITLES[st] for st in cols) + " | target |", "|---" * (len(cols) + 2) + "|"]
    chat = r.pooled["chatgpt"]
    lines.append(row("pooled ChatGPT TPR at 1 %", lambda st: f"{chat[st].tpr['0.01']:.2f}", ">= 0.85"))
    lines.append(row("pooled ChatGPT AUROC", lambda st: _auc(chat[st].auroc)))
    for name, x in r.per_set.items():
        if "davinci" in name:
            lines.append(row(f"{name} AUROC", lambda st, x=x: _auc(x[st].auroc), ">= 0.85"))
    t1 = r.per_set.get("smollm2-t1.0")
    if t1:
        lines.append(row("embedded model T 1.0 AUROC", lambda st: _auc(t1[st].auroc), ">= 0.90"))
    for d, by in r.realised_fpr_per_domain.items():
        for f, target in (("0.01", "<= 1.5 %"), ("0.05", "<= 7 %")):
            few = " (too few texts to certify)" if by["cross_model"][f].n < 100 else ""
            lines.append(
                row(f"realised FPR at {float(f):.0%}, {d}{few}", lambda st, b=by, f=f: _rate(b[st][f]), target)
            )
    s = r.seconds_per_128_tokens
    precision = (
        "bfloat16"
        if s.get("precision (service default)", s.get("embedded model precision (service default)")) == 16
        else "float32"
    )
    lines.append(
        row("seconds per 128 tokens, float32", lambda st: f"{s[st]:.3f}" if st in s else "-", "<= 0.25 (both models)")
    )
    lines.append(
        row(
            f"seconds per 128 tokens, service default ({precision})",
            lambda st: f"{s[st + ' (service default)']:.3f}" if st + " (service default)" in s else "-",
            "<= 0.25 (both models)",
        )
    )
    for part in ("human texts", "machine texts"):
        if f"screened (service default, {part})" in s:
            lines.append(
                row(
                    f"seconds per 128 tokens, service default, {part} of the cost sample",
                    lambda st, part=part: (
                        f"{s[f'screened (service default, {part})']:.3f} (second model on "
                        f"{s[f'screened: second model run on ({part})']:.0%})"
                        if st == "screened"
                        else "-"
                    ),
                    "<= 0.25 (both models)",
                )
            )
    for kind, by in r.attacks.items():
        lines.append(
            row(
                f"TPR at 1 % after {kind}",
                lambda st, by=by: f"{by[st]['tpr_at_0.01']:.2f}" if st in by else "-",
                ">= 90 % of clean" if kind in ("zero-width", "homoglyphs") else "(reported)",
            )
        )
    for name, ref in r.reference.items():
        sources = ref["sources"]
        assert isinstance(sources, dict)
        domains: dict[str, int] = {}
        for src, n in sources.items():
            domains[src.split("_")[0]] = domains.get(src.split("_")[0], 0) + int(n)
        small = [d for d, n in domains.items() if n < 99]
        lines.append(
            f"| `{name}` reference: human texts per domain (pooled into one reference) | "
            + ", ".join(f"{d} {n}" for d, n in sorted(domains.items()))
            + (f"; too few for a per-domain reference at 1 %: {', '.join(sorted(small))}" if small else "")
            + " |" * len(cols)
            + " >= 99 per domain for a per-domain 1 % |"
        )
    short = {"cross_model": "two-model", "screened": "screened", "log_likelihood": "alone"}
    names = " / ".join(short[st] for st in cols)
    lines += [
        "",
        "| set | human | machine | abstained | AUROC two-model | AUROC alone | AUROC classifier | "
        f"TPR 1 % {names} | TPR 5 % {names} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, x in {**r.per_set, **{f"pooled {k}": v for k, v in r.pooled.items()}}.items():
        cm = x["cross_model"]
        lines.append(
            f"| {name} | {cm.human} | {cm.machine} | {cm.abstention_rate:.1%} | {_auc(cm.auroc)} | "
            f"{_auc(x['log_likelihood'].auroc)} | {_auc(cm.auroc_classifier)} | "
            + " / ".join(f"{x[st].tpr['0.01']:.2f}" for st in cols)
            + " | "
            + " / ".join(f"{x[st].tpr['0.05']:.2f}" for st in cols)
            + " |"
        )
    if r.screens:
        figures = list(next(iter(r.screens.values())))
        lines += [
            "",
            "Screen threshold (the two-model test run only where the embedded model alone gives p <= threshold; "
            "1 = no screen), computed from the same verdicts:",
            "",
            "| threshold | " + " | ".join(figures) + " |",
            "|---" * (len(figures) + 1) + "|",
        ]
        for above, fig in r.screens.items():
            lines.append(
                f"| {above} | " + " | ".join(f"{v:.3f}" if "FPR" in k else f"{v:.2f}" for k, v in fig.items()) + " |"
            )
    return lines


def _metrics_from(raw: dict[str, Any]) -> Metrics:
    def auc(x: dict[str, Any] | None) -> Auroc | None:
        return Auroc(x["value"], tuple(x["ci95"])) if x else None  # type: ignore[arg-type]

    rates = {k: Rate(v["value"], v["k"], v["n"], tuple(v["cp95"])) for k, v in raw["realised_fpr"].items()}
    m = Metrics(raw["human"], raw["machine"], raw["abstention_rate"], auc(raw["auroc"]), auc(raw["auroc_classifier"]))
    m.tpr, m.realised_fpr = dict(raw["tpr"]), rates  # type: ignore[assignment]
    return m


def results_from(raw: dict[str, Any]) -> Results:
    """:class:`Results` from a ``detection.json`` (to render the tables again without scoring)."""
    sets = {k: {s: _metrics_from(m) for s, m in v.items()} for k, v in raw["per_set"].items()}
    pooled = {k: {s: _metrics_from(m) for s, m in v.items()} for k, v in raw["pooled"].items()}
    domains = {
        d: {s: {f: Rate(x["value"], x["k"], x["n"], tuple(x["cp95"])) for f, x in by.items()} for s, by in v.items()}  # type: ignore[arg-type]
        for d, v in raw["realised_fpr_per_domain"].items()
    }
    return Results(
        raw["seconds_per_128_tokens"],
        sets,
        pooled,
        domains,
        raw["attacks"],
        raw["reference"],
        raw["weights"],
        raw["settings"],
        raw.get("screens", {}),
    )


def write(r: Results, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(asdict(r), indent=2, default=float)
    (out / "detection.json").write_text(raw)
    md = ["# AI-likelihood benchmark (evaluation half only)", "", *summary(r), "", "## All figures", "", "```json", raw]
    (out / "detection.md").write_text("\n".join([*md, "```", ""]))


def plot(h: list[Verdicts], m: dict[str, list[Verdicts]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 6), sharey=True)
    ordered = ("cross_model", "log_likelihood")  # the screened verdicts mix two references: no one ordering
    for ax, stat, title in zip(axes, ordered, ("two-model statistic", "embedded model alone"), strict=True):
        hk = [r.by[stat].standardized_score for r in h if r.by[stat].standardized_score is not None]
        for name, rows in m.items():
            mk = [r.by[stat].standardized_score for r in rows if r.by[stat].standardized_score is not None]
            y = np.array([0] * len(hk) + [1] * len(mk))
            s = np.array(hk + mk, dtype=np.float64)
            fpr, tpr, _ = roc_curve(y, s)
            ax.plot(fpr, tpr, label=f"{name} ({roc_auc_score(y, s):.2f})")
        ax.axvline(0.01, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlim(1e-3, 1)
        ax.set_xlabel("false-positive rate on human texts (log scale; dashed: 1 %)")
        ax.set_title(title)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("true-positive rate")
    fig.suptitle("AI-likelihood, evaluation half: ROC per machine set against all human texts (AUROC)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--own-prompts", type=int, default=24, help="prompts per configuration of the embedded model")
    ap.add_argument("--tokens", type=int, default=160)
    ap.add_argument("--attack-texts", type=int, default=100, help="ChatGPT texts attacked with character edits")
    ap.add_argument("--paraphrase-texts", type=int, default=40, help="ChatGPT texts paraphrased by the embedded model")
    ap.add_argument("--paraphrase-tokens", type=int, default=256, help="longest paraphrase, in tokens")
    ap.add_argument("--cost-texts", type=int, default=72, help="texts the scoring cost is measured on")
    ap.add_argument("--limit", type=int, default=0, help="at most this many texts per set (0: all; smoke runs)")
    ap.add_argument(
        "--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="tokens of each text scored (smoke runs: fewer)"
    )
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    ap.add_argument("--cache", type=Path, default=default_model_cache())
    ap.add_argument("--render", action="store_true", help="rewrite detection.md from detection.json (no scoring)")
    ap.add_argument(
        "--only-cost",
        action="store_true",
        help="measure the scoring cost again (on a quiet machine) into the existing detection.json",
    )
    args = ap.parse_args()
    if args.render:
        write(results_from(json.loads((args.out / "detection.json").read_text())), args.out)
        return
    lm = load_model(cache_dir=args.cache)
    second = load_model(SECOND_MODEL, cache_dir=args.cache)
    scorer = Scorer(lm, second, args.max_tokens)

    def cap(rows: list[LabelledText]) -> list[LabelledText]:
        return rows[: args.limit] if args.limit else rows

    sets = fast_detect_gpt_sets(FAST_DETECT_GPT)
    jargon = [json.loads(x)["text"] for x in (REPO / "eval" / "data" / "human_jargon.jsonl").read_text().splitlines()]
    human_eval = {k: cap([r for r in v if r.label == 0 and not in_calibration_half(r.text)]) for k, v in sets.items()}
    human_eval["jargon-file"] = cap([LabelledText(t, 0, "jargon-file") for t in jargon if not in_calibration_half(t)])
    machine_eval = {k: cap([r for r in v if r.label == 1 and not in_calibration_half(r.text)]) for k, v in sets.items()}
    chat = [r.text for k, v in machine_eval.items() if "gpt-3.5" in k for r in v]
    human_sample = [r.text for v in human_eval.values() for r in v[:8]][: args.cost_texts // 2]
    machine_sample = chat[: args.cost_texts - len(human_sample)]
    if args.only_cost:
        previous = results_from(json.loads((args.out / "detection.json").read_text()))
        previous.seconds_per_128_tokens = scorer.seconds_per_128_tokens(human_sample, machine_sample)
        write(previous, args.out)
        print("\n".join(line for line in summary(previous) if "seconds per 128" in line))
        return
    if args.own_prompts:
        prompts = [p for p in (REPO / "eval" / "data" / "prompts.txt").read_text().splitlines() if p.strip()]
        machine_eval.update(own_generations(lm, prompts[: args.own_prompts], args.tokens))

    scored_h = {k: scorer.run([r.text for r in v], desc=f"human {k}") for k, v in human_eval.items()}
    scored_m = {k: scorer.run([r.text for r in v], desc=f"machine {k}") for k, v in machine_eval.items()}
    all_h = distinct([x for v in scored_h.values() for x in v])

    per_set: dict[str, dict[str, Metrics]] = {}
    for name in machine_eval:
        h = scored_h.get(name, all_h)
        per_set[name] = {s: metrics(h, scored_m[name], s) for s in STATISTICS}

    def pool(word: str) -> dict[str, Metrics]:
        h = distinct([x for k, v in scored_h.items() if word in k for x in v])
        m = [x for k, v in scored_m.items() if word in k for x in v]
        return {s: metrics(h, m, s) for s in STATISTICS}

    pooled = {"chatgpt": pool("gpt-3.5"), "davinci": pool("davinci")}
    domains = sorted({k.split("_")[0] for k in scored_h})
    per_domain = {}
    for d in domains:
        h = distinct([x for k, v in scored_h.items() if k.split("_")[0] == d for x in v])
        per_domain[d] = {s: metrics(h, [], s).realised_fpr for s in STATISTICS}
    per_domain["all human texts"] = {s: metrics(all_h, [], s).realised_fpr for s in STATISTICS}

    rng = random.Random(3)
    attacks: dict[str, dict[str, dict[str, float]]] = {}
    clean = scorer.run(chat[: args.attack_texts])
    attacks["nothing (clean)"] = {s: _tprs(clean, s) for s in STATISTICS}
    for kind in ("zero-width", "homoglyphs", "char-edits"):
        rows = scorer.run([attack(t, kind, rng) for t in chat[: args.attack_texts]], desc=kind)
        attacks[kind] = {s: _tprs(rows, s) for s in STATISTICS}
    if args.paraphrase_texts:
        para = paraphrased(lm, chat[: args.paraphrase_texts], args.paraphrase_tokens)
        rows = scorer.run(para, desc="paraphrased")
        attacks[f"paraphrase by the embedded model ({len(para)} texts)"] = {s: _tprs(rows, s) for s in STATISTICS}
        attacks[f"the same {len(para)} texts before paraphrase"] = {s: _tprs(clean[: len(para)], s) for s in STATISTICS}

    cost = scorer.seconds_per_128_tokens(human_sample, machine_sample)
    refs = {name: d.reference for name, d in scorer.detectors.items() if name != "screened"}  # its own is cross_model
    comb = refs["cross_model"].combination
    results = Results(
        seconds_per_128_tokens=cost,
        per_set=per_set,
        pooled=pooled,
        realised_fpr_per_domain=per_domain,
        attacks=attacks,
        reference={
            name: {
                "buckets": {b: len(v) for b, v in ref.scores.items()},
                "sources": dict(ref.sources),
                "windows": len(ref.windows),
            }
            for name, ref in refs.items()
        },
        weights=dict(zip(comb.features, map(float, comb.weights), strict=True)) if comb else {},
        settings={
            "own_prompts": args.own_prompts,
            "tokens": args.tokens,
            "limit": args.limit,
            "max_tokens": args.max_tokens,
            "fpr_nominal": list(FPRS),
            "screen": DEFAULT_SCREEN,
            "precision": scorer.precision,
            "vocabulary": len(scorer.vocabulary) if scorer.vocabulary is not None else 0,
        },
    )
    for x in [*all_h, *(v for rows in scored_m.values() for v in rows)]:  # the table's rule is the detector's
        if x.by["screened"].group is not None:  # routed to a genre group: judged by the group's references
            continue
        for f in FPRS:
            real = x.by["screened"].p_value is not None and x.by["screened"].p_value <= f
            assert real == flagged_screened(x, DEFAULT_SCREEN, f), x.key
    results.screens = screen_table(all_h, scored_m)
    write(results, args.out)
    plot(all_h, scored_m, args.out / "detection.png")
    print("\n".join(summary(results)))


if __name__ == "__main__":
    main()
