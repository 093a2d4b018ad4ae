"""A C2PA verification as a typed finding, with its source type, actions and codes in words."""

from __future__ import annotations

import json
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


def _assertions(manifest: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = (manifest or {}).get("assertions")
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def _soft_bindings(manifest: dict[str, Any] | None) -> tuple[str, ...]:
    algs = []
    for a in _assertions(manifest):
        data = a.get("data")
        if str(a.get("label", "")).startswith("c2pa.soft-binding") and isinstance(data, dict) and data.get("alg"):
            algs.append(str(data["alg"])[:200])
    return tuple(algs)


def _implicit_label(manifest: dict[str, Any] | None) -> str | None:
    for a in _assertions(manifest):
        if "aigc" in str(a.get("label", "")).lower():
            data = a.get("data")
            return data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return None


def _generator_version(manifest: dict[str, Any] | None) -> str | None:
    info = (manifest or {}).get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict) and info[0].get("version"):
        return str(info[0]["version"])[:100]
    return None


def manifest_finding(v: Verification, *, content_may_differ: bool = False) -> ManifestFinding:
    """The finding for what a C2PA reader reported.

    Args:
        content_may_differ: a manifest recovered from the store for re-encoded content: a hard
            binding mismatch is expected there and does not make the claims invalid.
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
    bindings = _soft_bindings(v.manifest)
    return ManifestFinding(
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
        claim_generator_version=_generator_version(v.manifest),
        soft_bindings=bindings,
        soft_bindings_registered=tuple(b in _registered_soft_bindings() for b in bindings),
        implicit_label=_implicit_label(v.manifest),
    )


def read_manifest(data: bytes, mime: str, *, trust_anchors: Sequence[str] = ()) -> ManifestFinding:
    """The finding for the manifest a file embeds, verified against ``trust_anchors``: a manifest
    that cannot be parsed is ``unreadable``, which is not the same as none at all.

    Raises:
        UnsupportedMedia: a type C2PA cannot read.
    """
    try:
        return manifest_finding(verify_asset(data, mime, trust_anchors=trust_anchors))
    except InvalidInput as exc:
        return unreadable_manifest(str(exc)) if has_manifest_store(data) else absent_manifest(str(exc))
