"""Build the shipped detection assets: the human reference and the classifier (``detect/data/``).

Fitted on the calibration half (see ``detect/training.py``) of: the six ``fast-detect-gpt`` sets in
``../shared/data/fast-detect-gpt/`` (human originals; GPT-3 davinci and ChatGPT continuations) and
the public-domain Jargon File paragraphs in ``eval/data/human_jargon.jsonl`` (human). The
evaluation half is left for ``eval/detection.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detect.embeddings import SentenceEmbedder  # noqa: E402
from detect.training import LabelledText, fast_detect_gpt_sets, train  # noqa: E402
from watermark.text.model import load_model  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "fast-detect-gpt"


def corpus() -> list[LabelledText]:
    rows = [r for rows in fast_detect_gpt_sets(SHARED).values() for r in rows]
    for line in (REPO / "eval" / "data" / "human_jargon.jsonl").read_text().splitlines():
        rows.append(LabelledText(json.loads(line)["text"], 0, "jargon-file"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=REPO / "detect" / "data")
    ap.add_argument("--cache", type=Path, default=REPO / ".cache" / "models")
    args = ap.parse_args()
    lm = load_model(cache_dir=args.cache)
    t = time.perf_counter()
    reference, model, meta = train(lm, corpus(), embedder=SentenceEmbedder())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "human_reference.json").write_text(reference.to_json())
    (args.out / "classifier.json").write_text(model.to_json(**meta))
    sizes = {b: len(v) for b, v in reference.scores.items()}
    print(f"built in {time.perf_counter() - t:.0f} s: reference sizes per bucket {sizes}")
    print(f"reference sources {dict(reference.sources)}")
    print(f"classifier trained on {meta['trained_on']}")


if __name__ == "__main__":
    main()
