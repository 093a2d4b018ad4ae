"""Zero-shot / classifier detection benchmark on the evaluation half only.

Sets: the six ``fast-detect-gpt`` sets (human originals vs GPT-3 davinci / ChatGPT continuations)
and, optionally, texts generated here by the embedded model (greedy, T=0.7 top-p 0.9, T=1.0,
repetition penalty 1.2) from ``eval/data/prompts.txt``. The shipped reference and classifier were
fitted on the other half (``detect/training.py``); nothing reported here was calibrated on.

Writes ``eval/results/detection.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from scipy.stats import beta  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from detect.defaults import load_text_detector  # noqa: E402
from detect.training import LabelledText, fast_detect_gpt_sets, in_calibration_half  # noqa: E402
from watermark.text import generate  # noqa: E402
from watermark.text.model import load_model  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "fast-detect-gpt"
ZW = "\u200b"
HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"}


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def bootstrap_auc(y: np.ndarray, s: np.ndarray, reps: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    auc = float(roc_auc_score(y, s))
    vals = []
    for _ in range(reps):
        i = rng.integers(0, len(y), len(y))
        if len(set(y[i])) == 2:
            vals.append(roc_auc_score(y[i], s[i]))
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


def own_generations(lm: Any, prompts: list[str], tokens: int) -> dict[str, list[LabelledText]]:
    configs = {
        "smollm2-greedy": {"temperature": 0.0},
        "smollm2-t0.7-p0.9": {"temperature": 0.7, "top_p": 0.9},
        "smollm2-t1.0": {"temperature": 1.0},
        "smollm2-rep1.2": {"temperature": 0.7, "top_p": 0.9, "repetition_penalty": 1.2},
    }
    out = {}
    for name, kw in configs.items():
        gens = generate(
            lm, prompts, scheme=None, max_new_tokens=tokens, min_new_tokens=tokens // 2, seed=7, chat=True, **kw
        )
        out[name] = [LabelledText(g.text, 1, name) for g in gens]
    return out


def _after_shared_prompt(human: str, machine: str) -> tuple[str, str]:
    """Drop the words both texts start with (the sets' machine texts continue a ~30-token human prompt)."""
    h, m = human.split(), machine.split()
    k = 0
    while k < min(len(h), len(m)) and h[k] == m[k]:
        k += 1
    return " ".join(h[k:]), " ".join(m[k:])


def length_curve(lm: Any) -> dict[str, Any]:
    """AUROC of the mean log-likelihood over the first 16/32/64/128 tokens *after the shared prompt*
    (evaluation half of the ChatGPT sets): where the statistic collapses, hence where to abstain."""
    from detect.features import score_tokens
    from watermark.text.normalize import normalize_text

    texts, labels = [], []
    for path in sorted(SHARED.glob("*gpt-3.5-turbo.raw_data.json")):
        raw = json.loads(path.read_text())
        for human, machine in zip(raw["original"], raw["sampled"], strict=True):
            if in_calibration_half(human) or in_calibration_half(machine):
                continue
            h, m = _after_shared_prompt(human, machine)
            texts += [h, m]
            labels += [0, 1]
    scores = score_tokens(lm, [normalize_text(t).text for t in texts], max_tokens=128, progress=True)
    out = {}
    for n in (16, 32, 64, 128):
        keep = [(y, float(s.log_likelihood[:n].mean())) for y, s in zip(labels, scores, strict=True)
                if len(s.log_likelihood) >= n]  # fmt: skip
        y = np.array([k[0] for k in keep])
        v = np.array([k[1] for k in keep])
        auc, lo, hi = bootstrap_auc(y, v)
        out[str(n)] = {"texts": len(keep), "auroc": auc, "ci95": [lo, hi]}
    return out


def _score(detector: Any, rows: list[LabelledText]) -> list[dict[str, Any]]:
    out = []
    for b in range(0, len(rows), 8):
        batch = rows[b : b + 8]
        for r, v in zip(batch, detector.score_batch([r.text for r in batch]), strict=True):
            out.append({"verdict": v.verdict, "p": v.p_value, "score": v.standardized_score,
                        "prob": v.classifier_probability, "tokens": v.tokens, "abstain": v.abstain_reason,
                        "text": hashlib.sha256(r.text.encode()).hexdigest()})  # fmt: skip
    return out


def _distinct(scored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each text once: 61 PubMed human texts are in both PubMed sets, and a text is one observation."""
    return list({x["text"]: x for x in reversed(scored)}.values())[::-1]


def _chatgpt(machine: dict[str, list[LabelledText]], n: int) -> list[LabelledText]:
    """The first ``n`` ChatGPT texts of the evaluation half (the character-attack inputs)."""
    return [r for k, v in machine.items() if "gpt-3.5" in k for r in v][:n]


def _write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "detection.json").write_text(json.dumps(results, indent=2, default=float))
    md = ["# Detection benchmark (evaluation half only)", "", *_summary(results), "", "## All figures", ""]
    md += ["```json", json.dumps(results, indent=2, default=float), "```"]
    (out / "detection.md").write_text("\n".join(md))


def _summary(r: dict[str, Any]) -> list[str]:
    """The targets of the detection issue and what this run measured, as Markdown tables."""

    def auc(x: dict[str, Any] | None) -> str:
        return f"{x['value']:.3f} [{x['ci95'][0]:.3f}, {x['ci95'][1]:.3f}]" if x else "-"

    def rate(x: dict[str, Any]) -> str:
        return f"{x['value']:.1%} ({x['k']}/{x['n']}; CP95 {x['cp95'][0]:.1%}-{x['cp95'][1]:.1%})"

    lines = ["| figure | measured | target |", "|---|---|---|"]
    chat = r.get("pooled_chatgpt")
    if chat:
        lines += [
            f"| pooled ChatGPT AUROC, statistic | {auc(chat.get('auroc_statistic'))} | >= 0.92 |",
            f"| pooled ChatGPT AUROC, classifier | {auc(chat.get('auroc_classifier'))} | (corroborates) |",
            f"| pooled ChatGPT TPR at 1 % FPR | {chat['tpr_at_0.01']:.2f} | >= 0.30 |",
        ]
    for d, x in r.get("realised_fpr_per_domain", {}).items():
        lines.append(f"| realised FPR at nominal 1 %, {d} | {rate(x)} | <= 1.5 % |")
    for d, x in r.get("realised_fpr_per_domain_at_0.05", {}).items():
        lines.append(f"| realised FPR at nominal 5 %, {d} | {rate(x)} | (reported) |")
    if "seconds_per_128_tokens" in r:
        lines.append(f"| seconds per 128 tokens | {r['seconds_per_128_tokens']:.3f} | <= 0.5 |")
    for kind, x in r.get("character_attacks", {}).items():
        kept = x["tpr_normalised"] / x["clean_tpr"] if x["clean_tpr"] else float("nan")
        lines.append(
            f"| TPR at 1 % under {kind}: normalised / raw (clean {x['clean_tpr']:.2f}) | "
            f"{x['tpr_normalised']:.2f} / {x['tpr_without_normalisation']:.2f} ({kept:.0%} kept) | "
            f"{'>= 90 % kept' if kind != 'char-edits' else '(reported)'} |"
        )
    if r.get("per_set"):
        head = (
            "| set | human | machine | abstained | AUROC statistic | AUROC classifier | TPR 1 % | TPR 5 % | FPR 1 % |"
        )
        lines += ["", head, "|---|---|---|---|---|---|---|---|---|"]
        for name, x in r["per_set"].items():
            lines.append(
                f"| {name} | {x['human']} | {x['machine']} | {x['abstention_rate']:.1%} | "
                f"{auc(x.get('auroc_statistic'))} | {auc(x.get('auroc_classifier'))} | {x['tpr_at_0.01']:.2f} | "
                f"{x['tpr_at_0.05']:.2f} | {x['realised_fpr_at_0.01']['value']:.1%} |"
            )
    return lines


def character_attacks(
    detector: Any, chat: list[LabelledText], run: Callable[[list[LabelledText]], list[dict[str, Any]]]
) -> dict[str, Any]:
    """TPR at 1 % on attacked ChatGPT texts, with normalisation (as shipped) and without."""
    rng = random.Random(3)
    clean_tpr = np.mean([x["p"] is not None and x["p"] <= 0.01 for x in run(chat)])
    attacks = {}
    for kind in ("zero-width", "homoglyphs", "char-edits"):
        attacked = [LabelledText(attack(r.text, kind, rng), 1, r.source) for r in chat]
        normalised = run(attacked)
        raw_scores = detector.score_batch([r.text for r in attacked], normalize=False)
        attacks[kind] = {
            "tpr_normalised": float(np.mean([x["p"] is not None and x["p"] <= 0.01 for x in normalised])),
            "tpr_without_normalisation": float(
                np.mean([x.p_value is not None and x.p_value <= 0.01 for x in raw_scores])
            ),
            "clean_tpr": float(clean_tpr),
            "texts": len(chat),
        }
    return attacks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--own-prompts", type=int, default=24, help="prompts per configuration of the embedded model")
    ap.add_argument("--tokens", type=int, default=160)
    ap.add_argument("--attack-texts", type=int, default=100, help="ChatGPT texts attacked with character edits")
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    ap.add_argument("--cache", type=Path, default=REPO / ".cache" / "models")
    ap.add_argument("--only-length-curve", action="store_true", help="add the AUROC-by-length section only")
    ap.add_argument("--only-attacks", action="store_true", help="recompute the character-attack section only")
    args = ap.parse_args()
    lm = load_model(cache_dir=args.cache)
    if args.only_length_curve:
        path = args.out / "detection.json"
        results = json.loads(path.read_text()) if path.is_file() else {}
        results["auroc_by_length_after_prompt"] = length_curve(lm)
        _write(results, args.out)
        print(json.dumps(results["auroc_by_length_after_prompt"], indent=2))
        return
    detector = load_text_detector(lm)
    sets = fast_detect_gpt_sets(SHARED)
    human_eval = {
        name: [r for r in rows if r.label == 0 and not in_calibration_half(r.text)] for name, rows in sets.items()
    }
    machine_eval = {
        name: [r for r in rows if r.label == 1 and not in_calibration_half(r.text)] for name, rows in sets.items()
    }
    if args.only_attacks:
        path = args.out / "detection.json"
        results = json.loads(path.read_text()) if path.is_file() else {}
        chat = _chatgpt(machine_eval, args.attack_texts)
        results["character_attacks"] = character_attacks(detector, chat, lambda rows: _score(detector, rows))
        _write(results, args.out)
        print(json.dumps(results["character_attacks"], indent=2))
        return
    if args.own_prompts:
        prompts = [p for p in (REPO / "eval" / "data" / "prompts.txt").read_text().splitlines() if p.strip()]
        own = own_generations(lm, prompts[: args.own_prompts], args.tokens)
        machine_eval.update(own)

    def run(rows: list[LabelledText]) -> list[dict[str, Any]]:
        return _score(detector, rows)

    t0 = time.perf_counter()
    scored_h = {k: run(v) for k, v in human_eval.items()}
    scored_m = {k: run(v) for k, v in machine_eval.items()}
    elapsed = time.perf_counter() - t0
    total_tokens = sum(x["tokens"] for d in (scored_h, scored_m) for v in d.values() for x in v)
    results: dict[str, Any] = {
        "seconds_per_128_tokens": elapsed / max(total_tokens, 1) * 128,
        "fpr_nominal": detector.fpr,
    }

    def metrics(h: list[dict[str, Any]], m: list[dict[str, Any]]) -> dict[str, Any]:
        hk = [x for x in h if x["verdict"] != "inconclusive"]
        mk = [x for x in m if x["verdict"] != "inconclusive"]
        y = np.array([0] * len(hk) + [1] * len(mk))
        s = np.array([x["score"] for x in hk + mk])
        prob = np.array([x["prob"] if x["prob"] is not None else np.nan for x in hk + mk])
        res: dict[str, Any] = {"human": len(h), "machine": len(m)}
        res["abstention_rate"] = 1 - (len(hk) + len(mk)) / max(len(h) + len(m), 1)
        if len(set(y)) == 2:
            auc, lo, hi = bootstrap_auc(y, s)
            res["auroc_statistic"] = {"value": auc, "ci95": [lo, hi]}
            if not np.isnan(prob).any():
                auc, lo, hi = bootstrap_auc(y, prob)
                res["auroc_classifier"] = {"value": auc, "ci95": [lo, hi]}
        for fpr in (0.01, 0.05):
            tp = sum(x["p"] <= fpr for x in mk)
            fp = sum(x["p"] <= fpr for x in hk)
            res[f"tpr_at_{fpr}"] = tp / max(len(mk), 1)
            res[f"realised_fpr_at_{fpr}"] = {"value": fp / max(len(hk), 1), "k": fp, "n": len(hk),
                                             "cp95": list(clopper_pearson(fp, len(hk)))}  # fmt: skip
        return res

    per_set = {}
    domains = sorted({k.split("_")[0] for k in scored_h})
    for name in sets:
        per_set[name] = metrics(scored_h[name], scored_m[name])
    all_h = _distinct([x for v in scored_h.values() for x in v])
    for name in machine_eval:
        if name.startswith("smollm2"):
            per_set[name] = metrics(all_h, scored_m[name])
    results["per_set"] = per_set
    results["pooled_chatgpt"] = metrics(
        [x for k, v in scored_h.items() if "gpt-3.5" in k for x in v],
        [x for k, v in scored_m.items() if "gpt-3.5" in k for x in v],
    )
    results["pooled_all_fast_detect_gpt"] = metrics(all_h, [x for k, v in scored_m.items() if "_" in k for x in v])
    for fpr, key in ((0.01, "realised_fpr_per_domain"), (0.05, "realised_fpr_per_domain_at_0.05")):
        results[key] = {
            d: metrics(_distinct([x for k, v in scored_h.items() if k.startswith(d) for x in v]), [])[
                f"realised_fpr_at_{fpr}"
            ]
            for d in domains
        }
    results["character_attacks"] = character_attacks(detector, _chatgpt(machine_eval, args.attack_texts), run)
    results["auroc_by_length_after_prompt"] = length_curve(lm)
    results["reference"] = {"buckets": {b: len(v) for b, v in detector.reference.scores.items()},
                            "sources": dict(detector.reference.sources)}  # fmt: skip
    _write(results, args.out)
    _plot(scored_h, scored_m, args.out / "detection.png")
    print(json.dumps({k: v for k, v in results.items() if k != "per_set"}, indent=2, default=float))


def _plot(h: dict[str, list[dict[str, Any]]], m: dict[str, list[dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    for name in m:
        hh = h.get(name) or [x for v in h.values() for x in v]
        hk = [x for x in hh if x["score"] is not None]
        mk = [x for x in m[name] if x["score"] is not None]
        y = np.array([0] * len(hk) + [1] * len(mk))
        if len(set(y)) < 2:
            continue
        s = np.array([x["score"] for x in hk + mk])
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{name} (AUROC {roc_auc_score(y, s):.2f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("false-positive rate (human texts)")
    ax.set_ylabel("true-positive rate")
    ax.set_title("Log-likelihood under the embedded model (standardised per length bucket)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
