"""Signer configurations of the service: development CA, chain + key files, and a callback (KMS/HSM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.core.media_service import MediaService
from api.core.runtime import Runtime
from api.core.settings import Settings
from provenance.credentials import ensure_dev_credentials
from watermark.errors import ConfigurationError

from . import signing_callback
from .conftest import RING, photo_jpeg


def _runtime(tmp_path: Path, **settings: object) -> Runtime:
    return Runtime.open(Settings(data_dir=tmp_path / "data", keyring_toml=RING, warm_on_start=False, **settings))  # type: ignore[arg-type]


def test_files_signer_chains_to_a_configured_anchor(tmp_path: Path, env: Path) -> None:
    ensure_dev_credentials(tmp_path / "pki")
    ca = tmp_path / "pki" / "dev-ca"
    rt = _runtime(
        tmp_path,
        signer="files",
        signer_chain=ca / "chain.pem",
        signer_key=ca / "signer.key",
        signer_name="Newsroom signer",
        trust_anchors=[ca / "root.pem"],
    )
    signed = rt.media.sign(photo_jpeg(), title="Press photo", digital_source_type="digitalCapture")
    assert signed.record.signer == "Newsroom signer" and not signed.record.development_signer
    report = rt.media.verify_image(signed.data)
    assert report.provenance is not None and report.provenance.validation_state == "Trusted"
    assert report.provenance.trusted and report.provenance.verdict == "trusted"
    assert report.verdict == "no-evidence"  # a trusted capture declares no AI origin
    assert report.label.startswith("Signed as a camera capture by")
    assert report.label.endswith("signer trusted by this server's own anchors")
    assert report.provenance.trusted_by == "server-anchors" and report.provenance.trust_entity is None
    assert {c.status for c in report.compliance} == {"not-applicable"}


def test_callback_signer_keeps_the_key_outside(tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = tmp_path / "pki" / "dev-ca"
    ensure_dev_credentials(tmp_path / "pki")
    monkeypatch.setenv("ASSAY_TEST_CALLBACK_KEY", str(ca / "signer.key"))
    rt = _runtime(
        tmp_path,
        signer="callback",
        signer_chain=ca / "chain.pem",
        signer_callback="tests.api.signing_callback:sign",
        trust_anchors=[ca / "root.pem"],
    )
    before = len(signing_callback.CALLS)
    result = rt.media.watermark_and_sign(photo_jpeg(), title="Generated")
    assert len(signing_callback.CALLS) > before
    report = rt.media.verify_image(result.data)
    assert report.provenance is not None and report.provenance.validation_state == "Trusted"
    assert report.verdict == "ai"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"signer": "files"}, "needs signer_chain and signer_key"),
        ({"signer": "callback", "signer_chain": "/nonexistent.pem", "signer_callback": "x:y"}, "cannot read"),
        ({"signer": "files", "signer_chain": "/nonexistent.pem", "signer_key": "/nonexistent.key"}, "cannot load"),
    ],
)
def test_bad_signer_settings_are_configuration_errors(
    tmp_path: Path, env: Path, settings: dict[str, object], message: str
) -> None:
    media: MediaService = _runtime(tmp_path, **settings).media
    with pytest.raises(ConfigurationError, match=message):
        media.credentials()


def test_unimportable_callback_is_a_configuration_error(tmp_path: Path, env: Path) -> None:
    ensure_dev_credentials(tmp_path / "pki")
    rt = _runtime(
        tmp_path,
        signer="callback",
        signer_chain=tmp_path / "pki" / "dev-ca" / "chain.pem",
        signer_callback="no.such.module:sign",
    )
    with pytest.raises(ConfigurationError, match="cannot be imported"):
        rt.media.credentials()
