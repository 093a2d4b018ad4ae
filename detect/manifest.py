"""A C2PA verification as a typed finding, with its source type, actions and codes in words."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from provenance.c2pa_io import Verification, verify_asset
from provenance.trust_lists import load_soft_binding_algorithms
from watermark.errors import InvalidInput

from .labels import (
    AI_SOURCE_TYPES,
    HARD_BINDING_FAILURES,
    action_in_words,
    code_concern,
    explain_code,
    inception_signal,
    source_type_name,
)
from .report import ActionRecord, IngredientRecord, ManifestFinding, Signer, ValidationCode
from .trust_naming import TrustNaming

__all__ = ["absent_manifest", "has_manifest_store", "manifest_finding", "read_manifest", "unreadable_manifest"]


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _agent(action: dict[str, Any]) -> str | None:
    agent = action.get("softwareAgent")
    if isinstance(agent, dict):
        return _str(agent.get("name"))
    return _str(agent)


def _unsigned(*, present: bool, error: str | None) -> ManifestFinding:
    return ManifestFinding(
        present=present,
        verdict="unreadable" if present else "absent",
        detected=False,
        manifest_id=None,
        validation_state=None,
        trusted=False,
        development_signer=False,
        error=error,
    )


def absent_manifest(error: str | None = None) -> ManifestFinding:
    """The finding for a file without a manifest (``error``: why the C2PA reader gave up on it)."""
    return _unsigned(present=False, error=error)


def unreadable_manifest(error: str) -> ManifestFinding:
    """The finding for a manifest that is there but cannot be parsed."""
    return _unsigned(present=True, error=error)


def has_manifest_store(data: bytes) -> bool:
    """Whether a file holds a C2PA manifest store (a JUMBF box labelled ``c2pa``), read or not."""
    return b"jumb" in data and b"c2pa" in data


@lru_cache(maxsize=1)
def _registered_soft_bindings() -> frozenset[str]:
    return frozenset(load_soft_binding_algorithms())


def manifest_finding(
    v: Verification, *, content_may_differ: bool = False, trust: TrustNaming | None = None
) -> ManifestFinding:
    """The finding for what a C2PA reader reported.

    Args:
        content_may_differ: a manifest recovered from the store for re-encoded content: a hard
            binding mismatch is expected there and does not make the claims invalid.
        trust: names who vouches for a trusted signer (None: the finding says only "trusted").
    """
    if not v.manifest_present:
        return absent_manifest()
    state = v.validation_state if v.validation_state in ("Invalid", "Valid", "Trusted") else "Invalid"
    source = v.digital_source_type
    short = (source or "").rsplit("/", 1)[-1]
    valid = state != "Invalid"
    integrity = {c for c in v.failures if code_concern(c) == "integrity"}
    if content_may_differ and state == "Invalid" and integrity and integrity <= HARD_BINDING_FAILURES:
        valid = True
        state = "Valid" if any(code_concern(c) == "trust" for c in v.failures) else "Trusted"
    signer = v.signer or {}
    created = next((a for a in v.actions if a.get("action") in ("c2pa.created", "c2pa.opened")), None)
    finding = ManifestFinding(
        present=True,
        verdict="invalid" if not valid else ("trusted" if state == "Trusted" else "valid"),
        detected=valid and short in AI_SOURCE_TYPES,
        manifest_id=v.label,
        validation_state=v.validation_state if v.validation_state in ("Invalid", "Valid", "Trusted") else "Invalid",  # type: ignore[arg-type]
        trusted=state == "Trusted",
        development_signer=v.development_signer,
        signer=Signer(
            name=_str(signer.get("common_name")),
            issuer=_str(signer.get("issuer")),
            algorithm=_str(signer.get("alg")),
            certificate_serial=_str(signer.get("cert_serial_number")),
        ),
        signed_at=_str(signer.get("time")),
        title=v.title,
        claim_generator=v.claim_generator,
        digital_source_type=source,
        source_type=source_type_name(source),
        actions=tuple(
            ActionRecord(
                action=str(a.get("action", "")),
                in_words=action_in_words(str(a.get("action", ""))),
                software_agent=_agent(a),
                digital_source_type=_str(a.get("digitalSourceType")),
            )
            for a in v.actions
        ),
        failures=tuple(
            ValidationCode(code=c, explanation=explain_code(c), concerns=code_concern(c)) for c in v.failures
        ),
        informational=v.informational,
        ingredients=tuple(
            IngredientRecord(
                title=_str(i.get("title")),
                format=_str(i.get("format")),
                relationship=_str(i.get("relationship")),
                manifest_id=_str(i.get("active_manifest")),
            )
            for i in v.ingredients
        ),
        inception=inception_signal(_str(created.get("digitalSourceType")) if created else None),
        created_at=_str(created.get("when")) if created else None,
        claim_generator_version=v.claim_generator_version,
        soft_bindings=v.soft_bindings,
        soft_bindings_registered=tuple(b in _registered_soft_bindings() for b in v.soft_bindings),
        implicit_label=v.implicit_label,
    )
    return trust.attribute(finding) if trust is not None and finding.trusted else finding


def read_manifest(
    data: bytes, mime: str, *, trust_anchors: Sequence[str] = (), trust: TrustNaming | None = None
) -> ManifestFinding:
    """The finding for the manifest a file embeds, verified against ``trust_anchors``: a manifest
    that cannot be parsed is ``unreadable``, which is not the same as none at all.

    Raises:
        UnsupportedMedia: a type C2PA cannot read.
    """
    try:
        return manifest_finding(verify_asset(data, mime, trust_anchors=trust_anchors), trust=trust)
    except InvalidInput as exc:
        return unreadable_manifest(str(exc)) if has_manifest_store(data) else absent_manifest(str(exc))
