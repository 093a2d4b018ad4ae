"""A short run of the robustness benchmark (``eval/text_robustness.py``; the long run is in eval/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_robustness_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    cmd = [sys.executable, str(REPO / "eval" / "text_robustness.py"), "--prompts", "2", "--tokens", "24"]
    cmd += ["--paraphrase", "1", "--emoji", "1", "--negatives", "40", "--no-gemma"]
    cmd += ["--schemes", "unigram,gumbel", "--out", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads((tmp_path / "text_robustness.json").read_text())
    assert list(res["schemes"]) == ["unigram", "gumbel"]
    for row in res["schemes"].values():
        entry = row["by_length"]["24"]
        assert entry["negatives"] == 40 + 40 + 2 and entry["positives"] == 2
        assert set(entry["tpr"]) == {
            "clean",
            "sub 10%",
            "sub 20%",
            "sub 30%",
            "ins 10%",
            "ins 20%",
            "del 10%",
            "del 20%",
        }
        assert 0.0 <= row["dilution"]["1000"]["span_f1"] <= 1.0 and row["emoji"]["texts"] == 1
        assert "embedded" in row["paraphrase"] and row["quality"]["ppl_gemma"] is None
    assert res["schemes"]["gumbel"]["quality"]["distinct_texts_of_4"] == 1.0  # its documented weakness
    md = (tmp_path / "text_robustness.md").read_text()
    assert "| unigram |" in md and "TPR at FPR 1e-3, 24 tokens" in md
    assert (tmp_path / "text_robustness.png").stat().st_size > 10_000
