"""AI-likelihood scoring cost as the service runs it, this revision against an earlier one, in one run.

Each revision's ``detect`` and ``watermark`` packages (``git archive``) score the same texts in a
child process of their own, the revisions taking turns for ``--rounds`` rounds (this machine's
speed drifts by tens of percent within minutes: back-to-back runs of one, then the other, are not
comparable); the median of each is reported. Texts: the evaluation half's human and ChatGPT texts
of the fast-detect-gpt sets, ``--texts`` of each, a third from each domain (PubMed answers are
~60 tokens, Writing and XSum ~225: the cost per token depends on length). Measured per revision,
as its service would score by default (``ASSAY_AI_PRECISION=auto``): both models on every text
(all domains, and each domain from the same timings), and, where the revision has the screened
detector, that detector on the human and on the machine texts.

    python eval/ai_cost.py --baseline 95ff34b   # -> eval/results/ai_cost.{json,md}
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETS = REPO / "eval" / "data" / "fast-detect-gpt"


def child(root: Path, texts: int) -> dict[str, float]:
    """The measurement, with the revision at ``root`` first on ``sys.path``."""
    sys.path.insert(0, str(root))
    from detect import text as detect_text
    from detect.cross_model import score_texts
    from detect.defaults import load_reference
    from detect.training import fast_detect_gpt_sets, in_calibration_half
    from watermark.text.model import SECOND_MODEL, default_model_cache, load_model
    from watermark.text.precision import as_precision, resolve_precision

    sets = fast_detect_gpt_sets(SETS)
    domains: dict[str, tuple[list[str], list[str]]] = {}
    for name, rows in sets.items():
        if "gpt-3.5" in name:
            held = [r for r in rows if not in_calibration_half(r.text)]
            per = texts // 3
            domains[name.split("_")[0]] = (
                [r.text for r in held if r.label == 0][:per],
                [r.text for r in held if r.label == 1][:per],
            )
    human = [t for h, _ in domains.values() for t in h]
    machine = [t for _, m in domains.values() for t in m]
    precision = resolve_precision("auto")
    lm = as_precision(load_model(cache_dir=default_model_cache()), precision)
    second = load_model(SECOND_MODEL, cache_dir=default_model_cache())
    if "keep" in as_precision.__code__.co_varnames:  # revisions that score the second model in that precision too
        second = as_precision(second, precision, keep=False)
    cross = load_reference()
    # revisions whose second model reads a window of the text read it as their reference says
    window = {"window": cross.second_window} if hasattr(cross, "second_window") else {}
    score_texts(lm, human[:2], max_tokens=256, second=second, vocabulary=cross.second_vocabulary, **window)  # warm
    out, seconds, tokens = {}, 0.0, 0
    for domain, (h, m) in domains.items():
        t0 = time.perf_counter()
        scored = score_texts(lm, h + m, max_tokens=256, second=second, vocabulary=cross.second_vocabulary, **window)
        spent, counted = time.perf_counter() - t0, sum(s.tokens for s in scored)
        out[f"both models, {domain}"] = spent / counted * 128
        seconds, tokens = seconds + spent, tokens + counted
    out["both models, every text"] = seconds / tokens * 128
    screen = getattr(detect_text, "Screen", None)
    if screen is not None:
        detector = detect_text.TextAIDetector(
            lm, cross, second=second, screen=screen(load_reference(single=True), detect_text.DEFAULT_SCREEN)
        )
        for part, part_texts in (("human", human), ("machine", machine)):
            t0 = time.perf_counter()
            verdicts = detector.score_batch(part_texts)
            out[f"screened, {part} texts"] = (time.perf_counter() - t0) / sum(v.tokens for v in verdicts) * 128
    return out


def extract(rev: str, into: Path) -> Path:
    """The revision's ``detect`` and ``watermark`` packages under ``into``."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "detect", "watermark"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default="HEAD~1", help="the earlier revision (git)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--texts", type=int, default=36, help="human texts and as many ChatGPT texts (a third per domain)")
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.texts)))
        return
    rev = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", args.baseline], capture_output=True, text=True
    )
    if rev.returncode != 0:
        sys.exit(f"unknown revision {args.baseline!r}")
    baseline = rev.stdout.strip()
    runs: dict[str, list[dict[str, float]]] = {"this revision": [], baseline: []}
    with tempfile.TemporaryDirectory(prefix="assay-cost-") as tmp:
        roots = {"this revision": REPO, baseline: extract(args.baseline, Path(tmp) / "before")}
        for i in range(args.rounds):
            for name, root in roots.items():
                cmd = [sys.executable, __file__, "--child", str(root), "--texts", str(args.texts)]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"round {i + 1}/{args.rounds}, {name}: {runs[name][-1]}", file=sys.stderr)
    medians = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    result = {"baseline": baseline, "texts": args.texts, "rounds": args.rounds, "median": medians, "runs": runs}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ai_cost.json").write_text(json.dumps(result, indent=2))
    figures = sorted({k for m in medians.values() for k in m})
    lines = [
        "# AI-likelihood cost: seconds per 128 tokens as the service scores by default",
        "",
        f"{args.texts} human and {args.texts} ChatGPT texts (evaluation half, a third from each of PubMed, Writing "
        f"and XSum); median of {args.rounds} interleaved rounds; target <= 0.25 with both models.",
        "",
        "| | " + " | ".join(figures) + " |",
        "|---" * (len(figures) + 1) + "|",
    ]
    for name, m in medians.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" if k in m else "-" for k in figures) + " |")
    (args.out / "ai_cost.md").write_text("\n".join([*lines, ""]))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
