"""A short run of the content-code benchmark (``eval/content_code.py``; the long run is in eval/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_content_code_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    cmd = [sys.executable, str(REPO / "eval" / "content_code.py"), "--attacks", "none,jpeg50-down0.5,crop0.5-centre"]
    cmd += ["--limit", "3", "--family-limit", "12", "--sound-limit", "2", "--sound-attacks", "none,opus 32k"]
    cmd += [
        "--video-limit",
        "2",
        "--video-size",
        "480x270",
        "--video-seconds",
        "3",
        "--video-attacks",
        "none,crop 10 %",
    ]
    out = subprocess.run([*cmd, "--out", str(tmp_path)], capture_output=True, text=True, timeout=900, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads((tmp_path / "content_code.json").read_text())
    assert res["null_min"] > res["threshold"] and res["null_vs_registered_min"] > res["threshold"]
    assert res["registered"] == 6 and all(a["wrong"] == 0 for a in res["attacks"].values())
    assert res["attacks"]["none"]["code"] == 6 and res["attacks"]["crop0.5-centre"]["code"] == 0
    sound = res["audio"]
    assert sound["null_items"] == 10 and sound["registered"] == 2 and sound["attacks"]["none"]["code"] == 2
    assert all(a["wrong"] == 0 for a in sound["attacks"].values())
    video = res["video"]  # 2 pans over pictures, 2 LFW slideshows, 2 rendered scenes
    assert video["null_items"] == 6 and video["registered"] == 2 and video["attacks"]["none"]["code"] == 2
    assert video["null_min"] > video["threshold"] and all(a["wrong"] == 0 for a in video["attacks"].values())
    md = (tmp_path / "content_code.md").read_text()
    assert "| jpeg50-down0.5 |" in md and "Near-duplicate families" in md and "| opus 32k |" in md
    assert "| crop 10 % |" in md
    assert (tmp_path / "content_code.png").stat().st_size > 10_000
