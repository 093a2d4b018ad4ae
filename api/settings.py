"""Settings, read from ``ASSAY_*`` environment variables (and an optional ``.env`` file).

Nothing reads settings at import time: call :func:`get_settings` (cached; tests clear or override
it).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_data_dir", "get_settings"]


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/assay``, else ``~/.local/share/assay``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "assay"


class Settings(BaseSettings):
    """Assay's settings; every field can be set as ``ASSAY_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_", env_file=None, extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="Where caches, keys and stores live.")
    cache_dir: Path | None = Field(default=None, description="Model cache; unset = data_dir/models.")
    model: str | None = Field(default=None, description="Model directory or hub id; unset = embedded SmolLM2.")
    allow_network: bool = Field(default=False, description="Allow model downloads from a hub.")
    keyring: Path | None = Field(default=None, description="Key ring TOML file; unset = data_dir/keys.toml.")
    keyring_toml: SecretStr | None = Field(default=None, description="Key ring TOML text (instead of a file).")
    alpha: float = Field(default=1e-3, gt=0.0, lt=1.0, description="False-positive rate for text detection.")
    max_text_chars: int = Field(default=200_000, ge=1, description="Longest text accepted for detection.")
    max_new_tokens: int = Field(default=1024, ge=1, le=4096, description="Most tokens one generation may ask for.")
    ai_likelihood: bool = Field(default=True, description="Score texts for AI-likelihood (loads the model).")
    ai_fpr: float = Field(default=0.01, gt=0.0, lt=1.0, description="False-positive rate of the statistical verdict.")
    detector_dir: Path | None = Field(
        default=None, description="Retrained reference/classifier; unset = data_dir/detector, else the shipped ones."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    @property
    def model_cache(self) -> Path:
        """Model cache directory in use."""
        return self.cache_dir if self.cache_dir is not None else self.data_dir / "models"

    @property
    def detector_path(self) -> Path:
        """Where ``assay detect train`` writes and the service looks for a retrained detector."""
        return self.detector_dir if self.detector_dir is not None else self.data_dir / "detector"

    @property
    def keyring_path(self) -> Path:
        """The key ring file in use when no TOML text is given."""
        return self.keyring if self.keyring is not None else self.data_dir / "keys.toml"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached)."""
    return Settings()
