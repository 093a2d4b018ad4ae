"""Text watermark benchmark: detection speed, generation overhead, detection power, FPR, model load.

Side by side with ``transformers``' own watermark (same ids, same prompts, same run). Writes
``eval/results/text_watermark.{json,md,png}``. Run ``make eval`` (or ``python eval/text_watermark.py
--help`` for a quicker, smaller run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm
from transformers import LogitsProcessor, LogitsProcessorList, WatermarkDetector, WatermarkingConfig

from watermark.keys import Secret, WatermarkKey
from watermark.text import TextWatermarkDetector, generate, load_model, scheme_for_key
from watermark.text.model import LanguageModel, default_model_cache
from watermark.text.scheme import TextScheme

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "eval" / "data"
FAST_DETECT_GPT = REPO / "eval" / "data" / "fast-detect-gpt"  # MIT, see its README
ALPHA = 1e-3


def key(key_id: str, secret: str, scheme: str = "kgw", **params: Any) -> WatermarkKey:
    return WatermarkKey(key_id, scheme, Secret(secret.encode()), params)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(level, method="exact")
    return float(ci.low), float(ci.high)


# -- 1. detection speed ----------------------------------------------------------------------


def detection_speed(vocab: int, texts: int, length: int, hf_texts: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    batch = rng.integers(0, vocab, size=(texts, length))
    out: dict[str, Any] = {"texts": texts, "tokens_per_text": length}
    for name, params in {"kgw h=1": {}, "kgw h=4 minhash": {"context_width": 4}}.items():
        scheme = scheme_for_key(key("speed", "s", **params), vocab_size=vocab)
        scheme.score_batch(list(batch[:10]))  # build the keyed tables once
        t0 = time.perf_counter()
        b = scheme.score_batch(list(batch))
        scheme.pvalue(b.score_sum, b.tokens_scored)
        dt = time.perf_counter() - t0
        out[f"assay {name} batch tok/s"] = texts * length / dt
    # The full per-text path (scan for spans, multiple-testing corrections, result objects).
    det = TextWatermarkDetector(schemes=[scheme_for_key(key("speed", "s"), vocab_size=vocab)])
    n_single = min(texts, 2000)
    t0 = time.perf_counter()
    for row in batch[:n_single]:
        det.detect_ids(row)
    out["assay kgw h=1 per-text detect_ids tok/s"] = n_single * length / (time.perf_counter() - t0)
    # transformers' WatermarkDetector on the first `hf_texts` of the same ids.
    cfg = WatermarkingConfig(greenlist_ratio=0.25, bias=2.0, hashing_key=15485863, seeding_scheme="lefthash")

    class _Cfg:
        bos_token_id = -1
        is_encoder_decoder = False
        vocab_size = vocab

    hf = WatermarkDetector(_Cfg(), "cpu", cfg, ignore_repeated_ngrams=True)  # type: ignore[arg-type]
    ids = torch.from_numpy(batch[:hf_texts])
    t0 = time.perf_counter()
    ref = hf(ids, return_dict=True)
    out["transformers lefthash tok/s"] = hf_texts * length / (time.perf_counter() - t0)
    out["transformers texts timed"] = hf_texts
    compat = scheme_for_key(key("hf", "15485863", scheme="kgw-transformers"), vocab_size=vocab)
    t0 = time.perf_counter()
    z = [compat.zscore(*_sums(compat, row)) for row in batch[:hf_texts]]
    out["assay kgw-transformers tok/s"] = hf_texts * length / (time.perf_counter() - t0)
    out["kgw-transformers max |z - z_transformers|"] = float(np.max(np.abs(np.array(z, dtype=float) - ref.z_score)))
    out["speedup assay h=1 batch vs transformers"] = (
        out["assay kgw h=1 batch tok/s"] / out["transformers lefthash tok/s"]
    )
    return out


def _sums(scheme: TextScheme, ids: Any) -> tuple[float, int]:
    ps = scheme.score_tokens(ids)
    return float(ps.values[ps.scored].sum()), int(ps.scored.sum())


# -- 2. generation overhead ------------------------------------------------------------------


def _timed_generate(lm: LanguageModel, prompts: list[str], tokens: int, **kw: Any) -> float:
    """Seconds for one batch generation of exactly ``tokens`` new tokens."""
    t0 = time.perf_counter()
    generate(lm, prompts, max_new_tokens=tokens, min_new_tokens=tokens, seed=0, **kw)
    return time.perf_counter() - t0


class _Timed(LogitsProcessor):
    """Wraps a processor and accumulates the time spent in it."""

    def __init__(self, inner: LogitsProcessor) -> None:
        self.inner, self.seconds, self.calls = inner, 0.0, 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        t0 = time.perf_counter()
        out: torch.FloatTensor = self.inner(input_ids, scores)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out


class _With:
    """Stands in for a scheme in `generate`: only supplies the (timed) processor."""

    name = key_id = "timed"

    def __init__(self, processor: LogitsProcessor) -> None:
        self.processor = processor

    def generation_kwargs(self, **_sampling: Any) -> dict[str, Any]:
        return {"logits_processor": LogitsProcessorList([self.processor])}

    def parameters(self) -> dict[str, Any]:
        return {}


def generation_overhead(lm: LanguageModel, prompts: list[str], tokens: int, repeats: int) -> dict[str, Any]:
    """End-to-end time per configuration (rounds in rotating order, paired ratios against plain
    generation in the same round), and the time spent inside each watermark processor."""
    schemes = {
        "assay kgw h=1": scheme_for_key(key("g", "g"), vocab_size=lm.vocab_size),
        "assay kgw h=4": scheme_for_key(key("g", "g", context_width=4), vocab_size=lm.vocab_size),
        "transformers lefthash": scheme_for_key(key("g", "1", scheme="kgw-transformers"), vocab_size=lm.vocab_size),
        "transformers selfhash h=4": scheme_for_key(
            key("g", "1", scheme="kgw-transformers", seeding_scheme="selfhash", context_width=4),
            vocab_size=lm.vocab_size,
        ),
    }
    timed = {name: _Timed(s.logits_processor()) for name, s in schemes.items()}
    configs: dict[str, Any] = {"plain": None, **{n: _With(p) for n, p in timed.items()}}
    for c in configs.values():  # warm-up: keyed tables, allocator, threads
        _timed_generate(lm, prompts[:2], 4, scheme=c)
    for p in timed.values():
        p.seconds, p.calls = 0.0, 0
    names = list(configs)
    times: dict[str, list[float]] = {k: [] for k in names}
    for r in tqdm(range(repeats), desc="generation overhead"):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(_timed_generate(lm, prompts, tokens, scheme=configs[name]))
    plain = times["plain"]
    step = statistics.median(plain) / tokens
    return {
        "prompts (batch)": len(prompts),
        "new_tokens": tokens,
        "rounds": repeats,
        "median_seconds": {k: statistics.median(v) for k, v in times.items()},
        "end_to_end_overhead_median_paired": {
            k: statistics.median(t / p - 1.0 for t, p in zip(v, plain, strict=True))
            for k, v in times.items()
            if k != "plain"
        },
        "processor_ms_per_step": {k: 1000 * p.seconds / max(p.calls, 1) for k, p in timed.items()},
        "plain_ms_per_step": 1000 * step,
        "processor_share_of_plain_step": {k: (p.seconds / max(p.calls, 1)) / step for k, p in timed.items()},
    }


# -- 3. detection power and false positives --------------------------------------------------


def _generate_all(
    lm: LanguageModel, prompts: list[str], scheme: TextScheme | None, tokens: int, batch: int, desc: str
) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = []
    for i in tqdm(range(0, len(prompts), batch), desc=desc):
        gens = generate(
            lm,
            prompts[i : i + batch],
            scheme=scheme,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            temperature=1.0,
            seed=1000 + i,
        )
        out.extend(g.token_ids for g in gens)
    return out


def _zero_width(text: str, rng: np.random.Generator) -> str:
    return "".join(c + ("\u200b" if i % 3 == 2 else "") for i, c in enumerate(text))


def _homoglyphs(text: str, rng: np.random.Generator) -> str:
    table = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441"}
    return "".join(table[c] if c in table and rng.random() < 0.3 else c for c in text)


def _attack(ids: tuple[int, ...], rate: float, vocab: int, rng: np.random.Generator) -> np.ndarray:
    arr = np.array(ids, dtype=np.int64)
    hit = rng.random(arr.size) < rate
    arr[hit] = rng.integers(0, vocab, int(hit.sum()))
    return arr


def power_and_fpr(lm: LanguageModel, prompts: list[str], tokens: int, batch: int, null_keys: int) -> dict[str, Any]:
    configs = {"kgw h=1": {}, "kgw h=4 minhash": {"context_width": 4}}
    rng = np.random.default_rng(7)
    plain = _generate_all(lm, prompts, None, tokens, batch, "unwatermarked")
    out: dict[str, Any] = {"prompts": len(prompts), "new_tokens": tokens, "temperature": 1.0, "alpha": ALPHA}
    human = _human_texts()
    out["human_texts"] = {k: len(v) for k, v in human.items()}
    tok = lm.tokenizer
    human_ids = {k: [tok(t, add_special_tokens=False)["input_ids"] for t in v] for k, v in human.items()}
    repeated = tok((human["jargon"][0].split(". ")[0] + ". ") * 40, add_special_tokens=False)["input_ids"]
    for name, params in configs.items():
        k = key("power", "power-secret", **params)
        scheme = scheme_for_key(k, vocab_size=lm.vocab_size)
        det = TextWatermarkDetector(schemes=[scheme], tokenizer=tok, alpha=ALPHA)
        marked = _generate_all(lm, prompts, scheme, tokens, batch, f"watermarked {name}")
        res: dict[str, Any] = {}
        by_length = {n: [det.detect_ids(ids[:n])[0].p_value for ids in marked] for n in (25, 50, 100, tokens)}
        for prefix, ps in by_length.items():
            res[f"TPR@{ALPHA:g} T={prefix}"] = float(np.mean(np.array(ps) <= ALPHA))
        texts = [lm.tokenizer.decode(ids, skip_special_tokens=True) for ids in marked]
        p_text = np.array([det.detect_text(t)[0].p_value for t in texts])
        res[f"TPR@{ALPHA:g} from re-tokenised text"] = float(np.mean(p_text <= ALPHA))
        for attack, fn in (("zero-width space every 3rd char", _zero_width), ("30% homoglyphs", _homoglyphs)):
            p_att = np.array([det.detect_text(fn(t, rng))[0].p_value for t in texts])
            res[f"TPR@{ALPHA:g} text attack: {attack}"] = float(np.mean(p_att <= ALPHA))
        res["median p (ids)"] = float(np.median(by_length[tokens]))
        for rate in (0.1, 0.2, 0.3):
            p = np.array([det.detect_ids(_attack(ids, rate, lm.vocab_size, rng))[0].p_value for ids in marked])
            res[f"TPR@{ALPHA:g} after {int(rate * 100)}% token substitution"] = float(np.mean(p <= ALPHA))
        # False positives: unwatermarked generations and human text under `null_keys` unused keys.
        nulls: dict[str, list[float]] = {"unwatermarked generations": [], **{f"human {h}": [] for h in human_ids}}
        for j in tqdm(range(null_keys), desc=f"null keys {name}"):
            nd = TextWatermarkDetector(
                schemes=[scheme_for_key(key("null", f"null-{j}", **params), vocab_size=lm.vocab_size)], alpha=ALPHA
            )
            nulls["unwatermarked generations"] += [_p(nd, ids) for ids in plain]
            for h, rows in human_ids.items():
                nulls[f"human {h}"] += [_p(nd, ids) for ids in rows]
        fpr = {}
        for set_name, ps in nulls.items():
            arr = np.array(ps)
            hits = int(np.sum(arr <= ALPHA))
            lo, hi = clopper_pearson(hits, arr.size)
            fpr[set_name] = {
                "tests": int(arr.size),
                "false_positives": hits,
                "fpr": hits / arr.size,
                "cp95": [lo, hi],
                "alpha_within_cp95": lo <= ALPHA,
            }
        res["false_positives"] = fpr
        rep = det.detect_ids(repeated)[0]
        res["repeated human sentence x40"] = {
            "tokens_scored": rep.tokens_scored,
            "p_value": rep.p_value,
            "detected": rep.detected,
        }
        res["_null_p"] = nulls["unwatermarked generations"]
        res["_marked_p_by_length"] = {str(n): ps for n, ps in by_length.items()}
        out[name] = res
    return out


def _p(det: TextWatermarkDetector, ids: Any) -> float:
    return det.detect_ids(ids)[0].p_value if len(ids) > 8 else 1.0


def _human_texts() -> dict[str, list[str]]:
    sets = {"jargon": [json.loads(x)["text"] for x in (DATA / "human_jargon.jsonl").read_text().splitlines()]}
    seen: dict[str, set[str]] = {}
    for f in sorted(FAST_DETECT_GPT.glob("*.raw_data.json")):
        domain = f.name.split("_")[0]
        seen.setdefault(domain, set()).update(json.loads(f.read_text())["original"])
    for domain, texts in seen.items():
        sets[domain] = sorted(texts)
    return sets


# -- 4. model load ---------------------------------------------------------------------------


def model_load(cache: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        load_model(cache_dir=tmp)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_model(cache_dir=tmp)
        cached = time.perf_counter() - t0
    return {"first_load_s": first, "cached_load_s": cached}


# -- report ----------------------------------------------------------------------------------


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def load_previous(out_dir: Path) -> dict[str, Any]:
    """Results of an earlier run (with raw p-values), so a partial run (--skip) updates them."""
    for name in ("text_watermark_raw.json", "text_watermark.json"):
        path = out_dir / name
        if path.is_file():
            return dict(json.loads(path.read_text()))
    return {}


def write_report(results: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = results.get("power", {})
    _atomic_write(out_dir / "text_watermark_raw.json", json.dumps(results, default=float))
    public = json.loads(json.dumps(results, default=float))
    for name in ("kgw h=1", "kgw h=4 minhash"):
        for private in ("_null_p", "_marked_p_by_length"):
            public.get("power", {}).get(name, {}).pop(private, None)
    _atomic_write(out_dir / "text_watermark.json", json.dumps(public, indent=2))
    lines = ["# Text watermark benchmark", "", f"Machine: {results['machine']}", ""]
    for section, body in public.items():
        if section == "machine":
            continue
        lines += [f"## {section}", "", "```json", json.dumps(body, indent=2), "```", ""]
    _atomic_write(out_dir / "text_watermark.md", "\n".join(lines))
    if any("_null_p" in v for v in plots.values() if isinstance(v, dict)):
        _plot(plots, out_dir / "text_watermark.png")


def _plot(power: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for name in ("kgw h=1", "kgw h=4 minhash"):
        if name not in power:
            continue
        by_len = power[name]["_marked_p_by_length"]
        lengths = sorted(int(k) for k in by_len)
        a.plot(lengths, [np.mean(np.array(by_len[str(n)]) <= ALPHA) for n in lengths], marker="o", label=name)
        null = np.sort(np.array(power[name]["_null_p"]))
        q = (np.arange(1, null.size + 1)) / (null.size + 1)
        b.loglog(q, null, ".", ms=2, label=f"{name} (unwatermarked, unused keys)")
    a.set_xlabel("generated tokens scored")
    a.set_ylabel(f"TPR at p <= {ALPHA:g}")
    a.set_title("Detection power, T=1.0")
    a.grid(alpha=0.3)
    a.legend()
    b.loglog([1e-5, 1], [1e-5, 1], "k--", lw=1, label="uniform")
    b.set_xlabel("expected quantile")
    b.set_ylabel("observed p-value")
    b.set_title("Null p-values (QQ): on or above the diagonal is valid")
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--prompts", type=int, default=120, help="prompts for detection power (>= 100 for the report)")
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--null-keys", type=int, default=50)
    ap.add_argument("--speed-texts", type=int, default=10_000)
    ap.add_argument("--hf-texts", type=int, default=100, help="texts timed for transformers' slow detector")
    ap.add_argument("--overhead-prompts", type=int, default=8)
    ap.add_argument("--overhead-tokens", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=8, help="rounds of the overhead measurement")
    ap.add_argument("--skip", nargs="*", default=[], choices=["speed", "overhead", "power", "load"])
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    ap.add_argument("--cache", type=Path, default=default_model_cache())
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    prompts = [p for p in (DATA / "prompts.txt").read_text().splitlines() if p.strip()]
    results = load_previous(args.out)
    results["machine"] = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    )
    if "load" not in args.skip:
        results["model_load"] = model_load(args.cache)
        print("model load:", results["model_load"])
    lm = load_model(cache_dir=args.cache)
    if "speed" not in args.skip:
        results["detection_speed"] = detection_speed(lm.vocab_size, args.speed_texts, 200, args.hf_texts)
        print("detection speed:", results["detection_speed"])
        write_report(results, args.out)
    if "overhead" not in args.skip:
        results["generation_overhead"] = generation_overhead(
            lm, prompts[: args.overhead_prompts], args.overhead_tokens, args.repeats
        )
        print("generation overhead:", results["generation_overhead"])
        write_report(results, args.out)
    if "power" not in args.skip:
        results["power"] = power_and_fpr(lm, prompts[: args.prompts], args.tokens, args.batch, args.null_keys)
        write_report(results, args.out)
    write_report(results, args.out)
    print(f"wrote {args.out}/text_watermark.json, .md and .png")


if __name__ == "__main__":
    main()
