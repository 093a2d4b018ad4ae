"""Settings, read from ``ASSAY_*`` environment variables and an optional TOML config file.

The config file is named by ``ASSAY_CONFIG``; environment variables override it. Nothing reads
settings at import time: call :func:`get_settings` (cached; tests clear or override it).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

__all__ = ["Settings", "default_data_dir", "get_settings"]

_MIB = 1024 * 1024


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/assay``, else ``~/.local/share/assay``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "assay"


class Settings(BaseSettings):
    """Assay's settings; every field can be set as ``ASSAY_<NAME>`` or in the ``ASSAY_CONFIG`` file."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_", env_file=None, extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="Where caches, keys and stores live.")
    cache_dir: Path | None = Field(
        default=None,
        description="Model cache; unset = ASSAY_MODEL_CACHE, else ~/.cache/assay/models (one per user and machine).",
    )
    model: str | None = Field(default=None, description="Model directory or hub id; unset = embedded SmolLM2.")
    allow_network: bool = Field(default=False, description="Allow model downloads from a hub.")
    keyring: Path | None = Field(default=None, description="Key ring TOML file; unset = data_dir/keys.toml.")
    keyring_toml: SecretStr | None = Field(default=None, description="Key ring TOML text (instead of a file).")
    audit_log_key: SecretStr | None = Field(
        default=None,
        description="The audit log's signed-note signer key (PRIVATE+KEY+name+id+key); default: made on first "
        "use as audit-log.key in the data directory.",
    )
    audit_log_origin: str = Field(
        default="assay.local/audit",
        pattern=r"^[^\s+]+$",
        description="The origin line and key name of a log key made here (no spaces or '+').",
    )
    alpha: float = Field(default=1e-3, gt=0.0, lt=1.0, description="False-positive rate for text detection.")
    max_text_chars: int = Field(default=200_000, ge=1, description="Longest text accepted for detection.")
    max_new_tokens: int = Field(default=1024, ge=1, le=4096, description="Most tokens one generation may ask for.")
    ai_likelihood: bool = Field(default=True, description="Score texts for AI-likelihood (loads the model).")
    ai_fpr: float = Field(default=0.01, gt=0.0, lt=1.0, description="False-positive rate of the statistical verdict.")
    ai_precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        description="Weights of both AI-likelihood models: bf16 scores ~1.7x faster where the CPU has "
        "native bfloat16 (auto picks it there), fp32 elsewhere. Generation always uses fp32.",
    )
    ai_second_model: bool = Field(
        default=True,
        description="Score AI-likelihood with the second offline model too (Gemma 3 270M): the two-model "
        "statistic, which catches far more machine text at the same false-positive rate. Off: the embedded "
        "model alone (about half the cost).",
    )
    ai_screen: float = Field(
        default=0.25,
        gt=0.0,
        le=1.0,
        description="The two-model statistic's first stage: a text whose p-value under the embedded model alone is "
        "above this is decided there (no evidence), without the second model; the false-positive rate holds "
        "exactly (only two-model p-values flag). 1 runs the second model on every text.",
    )
    ai_groups: bool = Field(
        default=True,
        description="Judge a text of a genre with its own human reference (scripture, system administration "
        "manuals: detect/groups.py) against that reference instead of the pooled one; off: every text against "
        "the pooled reference. Only with the shipped references (a retrained detector runs without).",
    )
    detector_dir: Path | None = Field(
        default=None, description="Retrained reference/classifier; unset = data_dir/detector, else the shipped ones."
    )
    # provenance
    store_url: str | None = Field(default=None, description="SQLAlchemy URL; unset = SQLite file data_dir/assay.db.")
    signer: Literal["dev", "files", "callback"] = Field(
        default="dev",
        description="dev: a development CA made on first run (untrusted); files: chain + key files; "
        "callback: chain file + a Python callable 'module:function' that signs bytes (a KMS or HSM).",
    )
    signer_chain: Path | None = Field(default=None, description="PEM chain, end-entity first (files/callback).")
    signer_key: Path | None = Field(default=None, description="PEM private key (files).")
    signer_alg: str = Field(default="es256", description="Signing algorithm of the configured chain.")
    signer_callback: str | None = Field(default=None, description="'module:function' signing bytes (callback).")
    signer_name: str | None = Field(default=None, description="Signer name recorded in the store.")
    trust_anchors: list[Path] = Field(default_factory=list, description="PEM files of trusted roots.")
    tsa_trust_anchors: list[Path] = Field(
        default_factory=list, description="PEM files of trusted time-stamp authorities (besides the C2PA TSA list)."
    )
    trust_dev_signer: bool = Field(default=False, description="Treat the development CA as trusted (testing only).")
    generator_name: str = Field(default="Assay", description="The generator named in signed AI manifests.")
    c2pa_trust_list: bool = Field(
        default=True,
        description="Trust signers on the C2PA Trust List (the shipped copy, or one installed by `assay trust "
        "update`) besides trust_anchors.",
    )
    label_outputs: bool = Field(
        default=True,
        description="Write the labels the rules name into Assay's outputs: the AIGC implicit label (GB 45438) "
        "and the IPTC source type, besides the watermark and the C2PA credentials.",
    )
    label_producer: str | None = Field(
        default=None,
        description="ContentProducer of the AIGC implicit labels Assay writes (the provider's name or "
        "registration code); unset = generator_name.",
    )
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 time-stamp authority for every signature (a trusted signing time); "
        "signing fails with a clear error while it cannot be reached.",
    )
    text_match_containment: float = Field(
        default=0.25,
        gt=0.0,
        le=1.0,
        description="Least fraction of a credentialed text's fingerprint a stripped copy must contain "
        "for its credentials to be recovered (with the watermark of the record's key).",
    )
    text_match_min_hashes: int = Field(
        default=6, ge=1, description="Least number of fingerprint hashes found for a recovery."
    )
    # service
    anonymous_verify: bool = Field(default=False, description="Allow verification without an API key.")
    public_mode: bool = Field(
        default=False,
        description="Run as a free public detection tool (SB 942, the EU Code's detection interface): "
        "verification and feedback without an API key, and no personal data kept (audit rows name the actor "
        "'public', client addresses are neither logged nor stored).",
    )
    max_upload_bytes: int = Field(default=32 * _MIB, ge=1024, description="Largest request body accepted.")
    max_pixels: int = Field(default=50_000_000, ge=65_536, description="Most pixels an uploaded image may have.")
    max_video_frames: int = Field(default=18_000, ge=1, description="Most frames a video watermarked here may have.")
    max_video_pixel_frames: int = Field(
        default=1920 * 1080 * 9_000,
        ge=65_536,
        description="Most frame pixels (width × height × frames) a video watermarked here may have.",
    )
    audio_strength: float = Field(
        default=0.02,
        ge=0.005,
        le=0.1,
        description=(
            "The audio mark's level under each frame's band RMS, as an amplitude ratio (0.02: 34 dB under it, "
            "SNR about 39 dB and wideband PESQ 4.0 or more on speech). Raised 1.5x and 2x where a mark does not "
            "read back."
        ),
    )
    max_audio_seconds: float = Field(
        default=600.0, gt=5.5, le=36_000.0, description="Longest sound (seconds) watermarked here."
    )
    request_timeout_s: float = Field(default=120.0, gt=0, description="Longest a request may take before a 503.")
    decode_budget_bytes: int = Field(
        default=1 << 30,
        ge=16 << 20,
        description="Memory (bytes) one process may hold decoding images, videos and sounds at once, counted "
        "per file from its size, channels and depth (checking a 49 MP colour image: about 0.7 GB); more "
        "files wait, then 503.",
    )
    decode_budget_pixels: int | None = Field(
        default=None,
        ge=65_536,
        description="Deprecated: the budget in image pixels, as before; counted as 47 bytes each (what a "
        "pixel cost then) where decode_budget_bytes is not set.",
    )

    @property
    def decode_budget(self) -> int:
        """The decode budget in bytes (``decode_budget_pixels``, if set alone, at 47 bytes a pixel)."""
        if self.decode_budget_pixels is not None and "decode_budget_bytes" not in self.model_fields_set:
            return self.decode_budget_pixels * 47
        return self.decode_budget_bytes

    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis URL: rate limits shared by every worker and machine; unset = limits per process.",
    )
    rate_limit_per_minute: int = Field(default=600, ge=1, description="Requests per minute per API key or client.")
    rate_limit_burst: int = Field(default=60, ge=1, description="Requests a key may make at once before limiting.")
    auth_failures_per_minute: int = Field(
        default=10,
        ge=1,
        description="Failed authentications per client address: this many at once, then as many a minute.",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        description="Threads one process computes with (model, images); unset = every core, or its share "
        "of them under `assay serve --workers N`.",
    )
    warm_on_start: bool = Field(default=True, description="Load the model when the service starts.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then ``ASSAY_*`` variables, then the ``ASSAY_CONFIG`` TOML file."""
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        config = os.environ.get("ASSAY_CONFIG")
        if config:
            if not Path(config).is_file():
                raise ValueError(f"ASSAY_CONFIG names {config}, which is not a file")
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=Path(config)),)
        return sources

    @property
    def model_cache(self) -> Path:
        """Model cache directory in use."""
        from watermark.text.model import default_model_cache

        return self.cache_dir if self.cache_dir is not None else default_model_cache()

    @property
    def detector_path(self) -> Path:
        """Where ``assay detect train`` writes and the service looks for a retrained detector."""
        return self.detector_dir if self.detector_dir is not None else self.data_dir / "detector"

    @property
    def keyring_path(self) -> Path:
        """The key ring file in use when no TOML text is given."""
        return self.keyring if self.keyring is not None else self.data_dir / "keys.toml"

    @property
    def database_url(self) -> str:
        """The store's SQLAlchemy URL."""
        return self.store_url or f"sqlite:///{self.data_dir / 'assay.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached)."""
    return Settings()
