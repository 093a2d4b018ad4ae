"""Credentials for generated text: a signed manifest in the text, soft-bound to its watermark.

The manifest declares AI origin and carries a ``c2pa.soft-binding`` assertion naming Assay's
text watermark (``ALG``) with the generation's record id as value. The store keeps the manifest,
and the text record keeps the watermark key, scheme and fingerprint: when a copy loses its
wrapper, the watermark names the key and the fingerprint the record (:mod:`detect.recovery`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from .c2pa_io import SignedAsset
from .credentials import SigningCredentials
from .fingerprint import fingerprint_key, sketch
from .manifest import ai_manifest
from .store import ManifestRecord, ManifestStore
from .text_manifest import sign_text
from .text_records import TextRecord, TextRecordIndex

__all__ = ["ALG", "CredentialedText", "sign_and_record_text"]

ALG = "com.assay.text-wm.1"


@dataclass(frozen=True)
class CredentialedText:
    """A generated text with its embedded manifest, its store entry and its record."""

    text: str
    signed: SignedAsset
    manifest: ManifestRecord
    record: TextRecord


def sign_and_record_text(
    text: str,
    credentials: SigningCredentials,
    index: TextRecordIndex,
    *,
    record_id: str,
    key_id: str,
    scheme: str,
    key_secret: bytes,
    model: str,
    signer: str,
    title: str = "Generated text",
    sign_callback: Callable[[bytes], bytes] | None = None,
    tsa_url: str | None = None,
    implicit_label: str | None = None,
) -> CredentialedText:
    """Sign ``text`` (watermarked with ``key_id``) with a soft-bound AI manifest embedded in it,
    and store the manifest and the generation record in one transaction.

    ``implicit_label``: an AIGC label's JSON, carried inside the manifest (a text has no metadata).

    Raises:
        InvalidInput: the text is empty or already credentialed.
        SignatureInvalid: signing failed.
    """
    manifest = ai_manifest(
        title=title, model=model, soft_binding=(ALG, record_id.encode("utf-8")), implicit_label=implicit_label
    )
    credentialed, signed = sign_text(text, manifest, credentials, sign_callback=sign_callback, tsa_url=tsa_url)
    fingerprint = sketch(text, fingerprint_key(key_secret))
    store: ManifestStore = index.store
    records: list[TextRecord] = []

    def record(conn: sa.Connection) -> None:
        records.append(
            index.insert(
                conn,
                record_id=record_id,
                manifest_id=signed.label,
                key_id=key_id,
                scheme=scheme,
                fingerprint=fingerprint,
            )
        )

    stored = store.put(
        manifest_id=signed.label,
        asset=credentialed.encode("utf-8"),
        mime="text/plain",
        manifest_store=signed.manifest_store,
        signer=signer,
        development_signer=credentials.development,
        soft_bindings=[(ALG, record_id.encode("utf-8"))],
        also=record,
    )
    return CredentialedText(credentialed, signed, stored, records[0])
