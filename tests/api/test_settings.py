from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.core.ratelimit import RateLimited, RateLimiter
from api.core.settings import Settings


def test_environment_overrides_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "assay.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "from-file"}"\nanonymous_verify = true\nmax_upload_bytes = 2048\n'
        'rate_limit_per_minute = 5\ntrust_anchors = ["/etc/ssl/a.pem"]\n'
    )
    monkeypatch.setenv("ASSAY_CONFIG", str(config))
    monkeypatch.setenv("ASSAY_RATE_LIMIT_PER_MINUTE", "7")
    s = Settings()
    assert s.data_dir == tmp_path / "from-file" and s.anonymous_verify and s.max_upload_bytes == 2048
    assert s.rate_limit_per_minute == 7  # the environment wins over the file
    assert s.trust_anchors == [Path("/etc/ssl/a.pem")]
    assert s.database_url == f"sqlite:///{tmp_path / 'from-file' / 'assay.db'}"
    assert Settings(store_url="postgresql+psycopg://db/assay").database_url == "postgresql+psycopg://db/assay"


def test_bad_settings_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ValueError, match="not a file"):
        Settings()
    monkeypatch.delenv("ASSAY_CONFIG")
    monkeypatch.setenv("ASSAY_SIGNER", "hsm-of-my-dreams")
    with pytest.raises(ValidationError):
        Settings()


def test_token_bucket_refills_at_the_configured_rate() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    limiter.take("a", now=0.0)
    limiter.take("a", now=0.0)
    with pytest.raises(RateLimited) as info:
        limiter.take("a", now=0.0)
    assert info.value.retry_after == 1
    limiter.take("b", now=0.0)  # other clients are unaffected
    limiter.take("a", now=1.0)  # one token back after one second
    with pytest.raises(RateLimited):
        limiter.take("a", now=1.5)
    with pytest.raises(ValueError):
        RateLimiter(per_minute=0, burst=1)
