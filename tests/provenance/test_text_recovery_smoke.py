"""A short run of the text-recovery benchmark (``eval/text_recovery.py``; the long run is in eval/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_text_recovery_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    cmd = [sys.executable, str(REPO / "eval" / "text_recovery.py"), "--generations", "4", "--tokens", "48"]
    cmd += ["--batch", "4", "--unmarked", "2", "--negatives", "20", "--sizes", "50,200", "--queries", "4"]
    out = subprocess.run([*cmd, "--out", str(tmp_path)], capture_output=True, text=True, timeout=900, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads((tmp_path / "text_recovery.json").read_text())
    assert res["generations"] == 4 and len(res["conditions"]) == 6
    clean = res["conditions"]["0% edits, alone"]
    assert clean["own_containment"]["median"] == 1.0  # a stripped, unedited copy holds its whole sketch
    assert all(c["wrong"] == 0 for c in res["conditions"].values())
    assert {k: v["texts"] for k, v in res["negatives"].items()} == {
        "human": 20,
        "machine (shared sets)": 20,
        "unmarked generations": 2,
        "marked, same key, no record": 2,
    }
    assert all(v["wrong_recoveries"] == 0 for v in res["negatives"].values())
    assert 0.0 <= clean["recovered_loose_gate"] <= 1.0 and clean["recovered"] <= clean["recovered_loose_gate"]
    assert [s["records"] for s in res["scaling"]] == [50, 200] and res["scaling"][-1]["lookup_ms_median"] > 0
    md = (tmp_path / "text_recovery.md").read_text()
    assert "| 10% edits, in 3x human text |" in md and "wrong recoveries" in md
    assert (tmp_path / "text_recovery.png").stat().st_size > 10_000
