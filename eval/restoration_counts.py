"""What each spelling restoration does to letter-edited words, counted without a model (seconds).

Every ChatGPT text of the ``fast-detect-gpt`` sets, per half (the calibration half is where a
restoration's rules are chosen, the evaluation half is where they are judged), with a share of
its letters replaced by random letters (``eval/detection.py``'s attack, the same seed as
``eval/spelling_restoration.py``): each word the edits changed is counted as restored *exactly*,
restored with only its *case* wrong, restored to *another word*, *left broken* (still unknown:
capitalised inside a sentence, with an apostrophe, too short, or nothing close enough), or
*hidden* (left as the edit made it, a word the dictionary or the model knows).
On the clean human texts, the words each restoration changes (the same words for the second and
the current one: they differ only in the choice among candidates and in a sentence opening's
capital).

    python eval/restoration_counts.py   # -> eval/results/restoration_counts.{json,md}
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detect.spelling import RESTORATIONS, WORD, SpellingRestorer, whole_words  # noqa: E402
from detect.training import in_calibration_half  # noqa: E402
from eval.build_detector import corpus, distinct  # noqa: E402
from eval.spelling_restoration import edited  # noqa: E402
from eval.typed_results import write_json  # noqa: E402
from watermark.text.model import default_model_cache, load_tokenizer  # noqa: E402
from watermark.text.normalize import normalize_text  # noqa: E402

OUTCOMES = ("exact", "case", "another word", "left broken", "hidden")
SHARE = 0.03


@dataclass(frozen=True)
class Count:
    """One restoration on one half."""

    restoration: str
    half: str  # "calibration" or "evaluation"
    texts: int
    damaged: int  # words the edits changed
    outcomes: dict[str, int]  # OUTCOMES -> words
    human_texts: int
    human_words_changed: int  # words of the clean human texts the restoration changes
    seconds: float  # restoring the edited ChatGPT texts


@dataclass(frozen=True)
class Results:
    share: float
    counts: list[Count]


def outcomes(restorer: SpellingRestorer, originals: list[str], edits: list[str]) -> Counter[str]:
    """Each edited word's outcome (see the module docstring); an edit replaces a letter by a letter,
    so a word keeps its span and the restored word is found by the character map (non-decreasing:
    the first restored character that maps to the word's start is the restored word's)."""
    out: Counter[str] = Counter()
    for original, text in zip(originals, edits, strict=True):
        norm = normalize_text(text)
        if norm.text != text:  # the texts are normalised already; the edits add nothing to fold
            raise ValueError("an edited text changed under normalisation")
        restored = restorer.restore(norm)
        for m in WORD.finditer(text):
            a, b = m.span()
            if text[a:b] == original[a:b]:
                continue
            at = int(np.searchsorted(restored.source, a))  # the restored word's first letter maps to a
            found = WORD.match(restored.text, at)
            new, was = (found.group() if found else ""), original[a:b]
            if new == text[a:b]:
                out["hidden" if restorer.knows(new) else "left broken"] += 1
            elif new == was:
                out["exact"] += 1
            elif new.lower() == was.lower():
                out["case"] += 1
            else:
                out["another word"] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "eval" / "results")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    known = whole_words(load_tokenizer(cache_dir=default_model_cache()))
    rows = list(distinct(corpus()).values())
    counts = []
    for half, inside in (("calibration", True), ("evaluation", False)):
        mine = [r for r in rows if in_calibration_half(r.text) == inside]
        chat = [normalize_text(r.text).text for r in mine if r.label == 1 and "gpt-3.5" in r.source]
        rng = random.Random(0)
        edits = [edited(t, SHARE, rng) for t in chat]
        humans = [normalize_text(r.text) for r in mine if r.label == 0]
        for name in RESTORATIONS:
            restorer = SpellingRestorer.loaded(known, name)
            t0 = time.perf_counter()
            got = outcomes(restorer, chat, edits)
            seconds = time.perf_counter() - t0
            changed = sum(restorer.restore(h).spelling_restored for h in humans)
            counts.append(
                Count(
                    name,
                    half,
                    len(chat),
                    sum(got.values()),
                    {k: got[k] for k in OUTCOMES},
                    len(humans),
                    changed,
                    seconds,
                )
            )
            print(counts[-1])
    res = Results(SHARE, counts)
    write_json(args.out / "restoration_counts.json", res)
    (args.out / "restoration_counts.md").write_text(markdown(res))
    print(markdown(res))


def markdown(r: Results) -> str:
    lines = [
        "# Spelling restorations on letter-edited words",
        "",
        f"Command: `.venv/bin/python eval/restoration_counts.py` (no model; the embedded model's tokenizer "
        f"supplies the words it holds whole). ChatGPT texts of the `fast-detect-gpt` sets with {r.share:.0%} "
        "of their letters replaced at random (seed 0); each word the edits changed, by what the restoration "
        "made of it. Human words changed: words of the clean human texts of the same half the restoration "
        "rewrites.",
        "",
        "| half | restoration | damaged words | " + " | ".join(OUTCOMES) + " | human words changed | seconds |",
        "|---|---|---|" + "---|" * len(OUTCOMES) + "---|---|",
    ]
    for c in r.counts:
        cells = [f"{c.outcomes[k]} ({c.outcomes[k] / c.damaged:.1%})" for k in OUTCOMES]
        lines.append(
            f"| {c.half} ({c.texts} texts) | `{c.restoration}` | {c.damaged} | "
            + " | ".join(cells)
            + f" | {c.human_words_changed} in {c.human_texts} texts | {c.seconds:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
