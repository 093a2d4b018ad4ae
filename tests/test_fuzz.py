"""A short coverage-guided fuzzing run of every target (``eval/fuzz.py``; the long run is in eval/)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TARGETS = ("content", "public_marks", "normalize", "keyring", "c2pa", "json_bodies", "labels", "video", "audio")


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [1, pytest.param(60, marks=pytest.mark.long)])
def test_every_target_survives_a_short_fuzzing_run(tmp_path: Path, seconds: int) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "eval" / "fuzz.py"),
            "--seconds",
            str(seconds),
            "--jobs",
            "2",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60 + 4 * seconds * len(TARGETS),
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = dict(re.findall(r"^\s*(\w+): +(.*)$", out.stdout, flags=re.M))
    assert set(rows) == set(TARGETS), out.stdout
    for target, line in rows.items():
        inputs = int(line.split()[0])
        assert inputs > 0 and "no crash" in line, (target, line, out.stdout[-2000:])
    assert not any((tmp_path / "crashes").iterdir())
