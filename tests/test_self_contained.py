"""A user's clone has nothing beside it: the data the suite and the benchmarks read ships in the
repository, with its licence (``.ci/run`` runs the suite in a fresh clone in an empty folder)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_shipped_benchmark_sets_carry_their_licence(fast_detect_gpt_dir: Path) -> None:
    assert fast_detect_gpt_dir.is_relative_to(REPO)
    assert "MIT License" in (fast_detect_gpt_dir / "LICENSE").read_text()
    assert len(sorted(fast_detect_gpt_dir.glob("*.raw_data.json"))) == 6
