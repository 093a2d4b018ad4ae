"""Null calibration of every text scheme, key by key.

The exact p-values are exact over the randomness of the key: a text not marked with a random key
is flagged with probability at most alpha. A platform holds *one* key and checks *one* corpus, so
this measures how far one key's false-positive rate on a fixed corpus strays from alpha: for each
scheme, ``--keys`` random keys score the same negatives (human texts and unmarked machine texts
of ``eval/data/fast-detect-gpt`` plus ``eval/data/human_jargon.jsonl``, 200 tokens each,
whole-text test), and the rate at alpha = 1e-2 and 1e-3 is reported pooled and per key.

Writes ``eval/results/text_null.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from scipy import stats
from tqdm import tqdm

from eval.text_robustness import CACHE, negatives
from watermark.keys import Secret, WatermarkKey
from watermark.text import load_tokenizer, scheme_for_key, scheme_names

REPO = Path(__file__).resolve().parents[1]


def per_key_rates(name: str, ids: list[np.ndarray], skip: frozenset[int], keys: int, vocab: int) -> np.ndarray:
    """``(keys, len(ids))`` whole-text p-values, one row per random key."""
    rows = []
    for k in tqdm(range(keys), desc=name, leave=False):
        secret = str(10_000 + k).encode() if name == "kgw-transformers" else f"null-{name}-{k}".encode()
        scheme = scheme_for_key(WatermarkKey(f"k{k}", name, Secret(secret), {}), vocab_size=vocab)
        batch = scheme.score_batch(ids, skip_ids=skip)
        rows.append(scheme.pvalue(batch.score_sum, batch.tokens_scored))
    return np.asarray(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=30, help="random keys per scheme (kgw-transformers: a sixth)")
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    tok = load_tokenizer(cache_dir=CACHE)
    human, machine = negatives()
    ids = [np.asarray(tok(t, add_special_tokens=False)["input_ids"][: args.tokens]) for t in human + machine]
    skip = frozenset(tok.all_special_ids)
    res: dict[str, Any] = {"texts": len(ids), "tokens": args.tokens, "schemes": {}}
    for name in scheme_names():
        keys = max(3, args.keys // 6) if name == "kgw-transformers" else args.keys
        p = per_key_rates(name, ids, skip, keys, len(tok))
        row: dict[str, Any] = {"keys": keys}
        for alpha in (1e-2, 1e-3):
            rates = (p <= alpha).mean(axis=1)
            hits = int((p <= alpha).sum())
            ci = stats.binomtest(hits, p.size).proportion_ci(0.95, method="exact")
            row[f"{alpha:g}"] = {
                "pooled": hits / p.size,
                "pooled_ci95": [float(ci.low), float(ci.high)],
                "per_key_min": float(rates.min()),
                "per_key_median": float(np.median(rates)),
                "per_key_max": float(rates.max()),
                "keys_above_2x_alpha": int((rates > 2 * alpha).sum()),
            }
        res["schemes"][name] = row
        print(name, json.dumps(row), file=sys.stderr)
    lines = [
        "# Null calibration, key by key",
        "",
        f"{res['texts']} negatives (human and unmarked machine texts), {res['tokens']} tokens, whole-text exact "
        f"p-value. Produced by `python eval/text_null.py --keys {args.keys}`.",
        "",
        "| scheme | keys | FPR at 1e-2: pooled (95 % CI) | per key min / median / max | FPR at 1e-3: pooled | "
        "per key max | keys over 2·alpha (1e-2) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in res["schemes"].items():
        a, b = row["0.01"], row["0.001"]
        lines.append(
            f"| {name} | {row['keys']} | {a['pooled']:.4f} ({a['pooled_ci95'][0]:.4f}-{a['pooled_ci95'][1]:.4f}) | "
            f"{a['per_key_min']:.4f} / {a['per_key_median']:.4f} / {a['per_key_max']:.4f} | {b['pooled']:.5f} | "
            f"{b['per_key_max']:.4f} | {a['keys_above_2x_alpha']} |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "text_null.json").write_text(json.dumps(res, indent=2))
    (args.out / "text_null.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
