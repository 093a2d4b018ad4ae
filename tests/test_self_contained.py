"""A user's clone has nothing beside it: the suite reads its data from the repository alone."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_opening_the_developers_shared_folder_fails() -> None:
    with pytest.raises(PermissionError, match="lives in the repository"):
        (REPO.parent / "shared" / "data" / "anything.json").open()


def test_shipped_benchmark_sets_carry_their_licence(fast_detect_gpt_dir: Path) -> None:
    assert fast_detect_gpt_dir.is_relative_to(REPO)
    assert "MIT License" in (fast_detect_gpt_dir / "LICENSE").read_text()
    assert len(sorted(fast_detect_gpt_dir.glob("*.raw_data.json"))) == 6
