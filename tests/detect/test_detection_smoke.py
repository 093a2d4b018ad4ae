"""A short run of the AI-likelihood benchmark (``eval/detection.py``; the long run is in eval/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("limit", "max_tokens"), [(1, 64), pytest.param(4, 256, marks=pytest.mark.long)], ids=["short", "long"]
)
def test_detection_benchmark_runs_end_to_end(tmp_path: Path, limit: int, max_tokens: int) -> None:
    cmd = [sys.executable, str(REPO / "eval" / "detection.py"), "--limit", str(limit), "--own-prompts", "1"]
    cmd += ["--tokens", "24", "--attack-texts", "2", "--paraphrase-texts", "1", "--paraphrase-tokens", "24"]
    cmd += ["--cost-texts", "2", "--max-tokens", str(max_tokens)]
    out = subprocess.run([*cmd, "--out", str(tmp_path)], capture_output=True, text=True, timeout=900, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads((tmp_path / "detection.json").read_text())
    assert set(res["per_set"]) >= {"xsum_gpt-3.5-turbo", "pubmed_davinci", "smollm2-t1.0"}
    for by in res["per_set"].values():
        assert set(by) == {"cross_model", "screened", "log_likelihood"}
        assert 1 <= by["cross_model"]["machine"] <= 2 * limit
    assert set(res["realised_fpr_per_domain"]) == {"jargon-file", "pubmed", "writing", "xsum", "all human texts"}
    assert res["realised_fpr_per_domain"]["xsum"]["cross_model"]["0.01"]["n"] <= 4 * limit
    assert {"zero-width", "homoglyphs", "char-edits"} <= set(res["attacks"])
    assert any(k.startswith("paraphrase") for k in res["attacks"])
    # a cost each (which costs more is a figure of the benchmark, not of a smoke run on a busy machine)
    assert res["seconds_per_128_tokens"]["cross_model"] > 0 and res["seconds_per_128_tokens"]["log_likelihood"] > 0
    assert res["weights"] and res["reference"]["cross_model"]["sources"]
    assert set(res["screens"]) == {"0.05", "0.1", "0.25", "0.5", "1"}
    for fig in res["screens"].values():  # at most what the unscreened test flags
        assert fig["ChatGPT TPR at 1 %"] <= res["screens"]["1"]["ChatGPT TPR at 1 %"]
    md = (tmp_path / "detection.md").read_text()
    assert "two-model" in md and "realised FPR at 1%, xsum (too few texts to certify)" in md
    assert "| threshold |" in md and "screened above 25%" in md
    assert (tmp_path / "detection.png").stat().st_size > 10_000


def test_the_benchmark_s_ranked_auroc_equals_sklearn_s_with_ties() -> None:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from eval.detection import auc_by_ranks

    rng = np.random.default_rng(1)
    y = np.r_[0, 1, rng.integers(0, 2, 60)]
    s = np.round(rng.normal(size=62) + y, 1)  # ties across the classes
    assert abs(float(auc_by_ranks(y, s)) - roc_auc_score(y, s)) < 1e-12
