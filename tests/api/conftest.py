from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory (key ring created on first use) sharing the model cache."""
    for name in ("ASSAY_KEYRING", "ASSAY_KEYRING_TOML", "ASSAY_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSAY_CACHE_DIR", str(cache_dir))
    return tmp_path / "data"
