"""The manifest store on SQLite and on the PostgreSQL server on 127.0.0.1, with real manifests."""

from __future__ import annotations

import base64
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from provenance.c2pa_io import sign_asset, verify_asset
from provenance.credentials import SigningCredentials, ensure_dev_credentials
from provenance.manifest import ai_manifest
from provenance.store import ManifestStore
from tests.provenance.test_c2pa import image_bytes
from watermark.errors import InvalidInput, ManifestNotFound

PG_URL = os.environ.get("ASSAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ALG = "com.assay.image.1"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ManifestStore]:
    if request.param == "sqlite":
        yield ManifestStore.open(f"sqlite:///{tmp_path / 'store.db'}")
        return
    schema = f"assay_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield ManifestStore.open(PG_URL, schema=schema)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SigningCredentials:
    return ensure_dev_credentials(tmp_path_factory.mktemp("store-creds"))


def test_store_lookup_and_recover_a_stripped_manifest(store: ManifestStore, creds: SigningCredentials) -> None:
    original = image_bytes("image/png", seed=3)
    payload = b"\x02record-0042"
    signed = sign_asset(original, "image/png", ai_manifest(title="x", model="gen", soft_binding=(ALG, payload)), creds)
    rec = store.put(
        manifest_id=signed.label,
        asset=signed.data,
        mime="image/png",
        manifest_store=signed.manifest_store,
        signer="Assay Development Signer",
        development_signer=True,
        soft_bindings=[(ALG, payload)],
    )
    # One id for the credentials: the store keys them by the label every C2PA verifier shows.
    assert rec.manifest_id == signed.label == verify_asset(signed.data, "image/png").label
    assert rec.manifest_id.startswith("urn:c2pa:")
    value = base64.b64encode(payload).decode()
    assert [m.manifest_id for m in store.by_binding(ALG, value)] == [rec.manifest_id]
    assert store.by_binding(ALG, base64.b64encode(b"other").decode()) == []
    assert store.by_asset_hash(rec.asset_sha256) == [rec.manifest_id]
    again = store.record(rec.manifest_id)
    assert again.soft_bindings == ((ALG, value),) and again.mime == "image/png" and again.development_signer
    fetched = store.manifest_bytes(rec.manifest_id)
    assert fetched == signed.manifest_store
    # The stored manifest validates against the signed asset ...
    assert verify_asset(signed.data, "image/png", manifest_store=fetched).validation_state == "Valid"
    # ... and, after metadata stripping and re-encoding, it is still found and read, with its
    # claims, while its hard binding no longer matches the pixels (expected after re-encoding).
    out = io.BytesIO()
    Image.open(io.BytesIO(signed.data)).save(out, "PNG")
    stripped = out.getvalue()
    assert not verify_asset(stripped, "image/png").manifest_present
    recovered = verify_asset(stripped, "image/png", manifest_store=fetched)
    assert recovered.manifest_present and recovered.validation_state == "Invalid"
    assert "assertion.dataHash.mismatch" in recovered.failures
    assert recovered.actions[0]["action"] == "c2pa.created"


def test_missing_and_invalid(store: ManifestStore) -> None:
    with pytest.raises(ManifestNotFound):
        store.manifest_bytes("urn:uuid:nope")
    with pytest.raises(ManifestNotFound):
        store.record("urn:uuid:nope")
    with pytest.raises(InvalidInput):
        store.put(
            manifest_id="urn:c2pa:x",
            asset=b"x",
            mime="image/png",
            manifest_store=b"",
            signer="s",
            development_signer=False,
        )
    with pytest.raises(InvalidInput):
        store.put(
            manifest_id="", asset=b"x", mime="image/png", manifest_store=b"m", signer="s", development_signer=False
        )
