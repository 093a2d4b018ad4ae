"""Where does the genre groups' router (``detect/groups.py``) send text, and what does its floor
change? The shipped router's probabilities for every text of the benchmark (human, ChatGPT and
davinci texts of both halves) and of the Debian passages (``eval/human_corpora.py``), read as the
detector reads them (normalised, spelling restored, MiniLM embedding): per set, where the router's
most probable class sends each text (``argmax``, how the shipped groups were built) and where it
sends it with the floor (:data:`detect.groups.ROUTER_FLOOR`: a named group only at that
probability or more), and how many texts land in a named group below each of a few candidate floors.

    python eval/group_router.py   # -> eval/results/group_router.{json,md}

No scoring by the language models (embeddings only): about 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detect.defaults import load_groups  # noqa: E402
from detect.embeddings import SentenceEmbedder  # noqa: E402
from detect.groups import POOLED, ROUTER_FLOOR  # noqa: E402
from detect.spelling import SpellingRestorer, prepare  # noqa: E402
from detect.training import distinct, in_calibration_half  # noqa: E402
from eval.build_detector import GROUP_PASSAGES, corpus  # noqa: E402
from eval.human_corpora import GENRES, passages  # noqa: E402
from eval.typed_results import from_json, write_json  # noqa: E402
from watermark.text.model import default_model_cache, load_model  # noqa: E402

CANDIDATES = (0.6, 0.7, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class Row:
    half: str  # "calibration" or "evaluation" (detect/training.py's hash split)
    source: str  # a Debian genre, or "benchmark human" / "benchmark chatgpt" / "benchmark davinci"
    own_group: bool  # a group of this name ships (its texts belong there)
    texts: int
    argmax: dict[str, int]  # group -> texts, by the router's most probable class
    at_floor: dict[str, int]  # group -> texts, with the floor
    named_below: dict[str, int]  # candidate floor -> texts the argmax sends to a named group below it


@dataclass(frozen=True)
class Results:
    floor: float
    groups: list[str]
    rows: list[Row]
    seconds: float


def text_sets() -> dict[tuple[str, str], list[str]]:
    """(half, source) -> texts: the benchmark's distinct texts and the Debian passages."""
    sets: dict[tuple[str, str], list[str]] = {}
    for r in distinct(corpus()).values():
        kind = "human" if r.label == 0 else ("chatgpt" if "gpt-3.5" in r.source else "davinci")
        sets.setdefault((_half(r.text), f"benchmark {kind}"), []).append(r.text)
    for genre in GENRES:
        for p in passages(genre, GROUP_PASSAGES):
            sets.setdefault((_half(p.text), genre), []).append(p.text)
    return dict(sorted(sets.items()))


def _half(text: str) -> str:
    return "calibration" if in_calibration_half(text) else "evaluation"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    t0 = time.perf_counter()
    groups = load_groups()
    restorer = SpellingRestorer.for_tokenizer(load_model(cache_dir=default_model_cache()).tokenizer)
    embedder = SentenceEmbedder()
    rows = []
    for (half, source), texts in text_sets().items():
        print(f"{half} {source}: {len(texts)} texts", flush=True)
        embeddings = embedder.embed([n.text for n in prepare(texts, restorer)])
        best = replace(groups, floor=0.0).route(embeddings)  # the argmax
        at_floor = replace(groups, floor=ROUTER_FLOOR).route(embeddings)
        top = groups.probabilities(embeddings).max(axis=1)
        below = {f"{c:g}": int(sum(b != POOLED and q < c for b, q in zip(best, top, strict=True))) for c in CANDIDATES}
        rows.append(
            Row(half, source, source in groups.groups, len(texts), dict(Counter(best)), dict(Counter(at_floor)), below)
        )
    res = Results(ROUTER_FLOOR, list(groups.groups), rows, time.perf_counter() - t0)
    write_json(args.out / "group_router.json", res)
    (args.out / "group_router.md").write_text(md(res))
    print(md(res))


def md(r: Results) -> str:
    def routed(d: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))

    lines = [
        "# Where the genre router sends text",
        "",
        "Command: `.venv/bin/python eval/group_router.py`. The shipped router (`detect/data/human_groups.json`, "
        f"groups: {', '.join(f'`{g}`' for g in r.groups)}) on every text of the benchmark and the Debian passages "
        "(`eval/human_corpora.py`), embedded as the detector reads them. *argmax*: the router's most probable "
        f"class; *floor {r.floor:g}*: a named group only at that probability or more (`detect.groups.ROUTER_FLOOR`). "
        "The last columns count texts the argmax sends to a named group with less than each probability. "
        f"Run time {r.seconds / 60:.0f} min.",
        "",
        "| half | texts of | n | routed (argmax) | routed (floor) | "
        + " | ".join(f"named, p < {c:g}" for c in CANDIDATES)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(CANDIDATES),
    ]
    for row in r.rows:
        label = f"**{row.source}**" if row.own_group else row.source
        below = " | ".join(str(row.named_below[f"{c:g}"]) for c in CANDIDATES)
        lines.append(
            f"| {row.half} | {label} | {row.texts} | {routed(row.argmax)} | {routed(row.at_floor)} | {below} |"
        )
    lines += ["", "Bold: a genre with a group of its own (its texts belong there).", ""]
    return "\n".join(lines)


def read(path: Path) -> Results:
    return from_json(Results, json.loads(path.read_text()))


if __name__ == "__main__":
    main()
