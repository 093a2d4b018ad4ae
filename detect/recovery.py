"""Recover stripped C2PA credentials through the image watermark.

Given an image and the watermark detection made on it, the payload is looked up in the manifest
store under the Assay soft-binding algorithm; the stored manifest is validated against the image
as it is now. After re-encoding the hard binding no longer matches the pixels (reported, and
expected); the claims, signer and actions are the original ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from provenance.c2pa_io import verify_asset
from provenance.soft_binding import ALG, binding_value
from provenance.store import ManifestStore
from watermark.image import ImageDetection

from .labels import HARD_BINDING_FAILURES
from .manifest import manifest_finding
from .report import RecoveredFinding

__all__ = ["recover_credentials"]


def recover_credentials(
    data: bytes,
    mime: str,
    detection: ImageDetection,
    store: ManifestStore,
    *,
    trust_anchors: Sequence[str] = (),
) -> RecoveredFinding | None:
    """The newest stored manifest bound to the watermark found in ``data``, validated against it.

    Returns ``None`` when no watermark was found or no stored manifest carries its payload.
    """
    if not detection.found or detection.payload is None:
        return None
    matches = store.by_binding(ALG, binding_value(detection.payload.to_bytes()))
    if not matches:
        return None
    manifest_id = matches[0].manifest_id
    verification = verify_asset(
        data, mime, trust_anchors=trust_anchors, manifest_store=store.manifest_bytes(manifest_id)
    )
    hard_ok = not any(code in HARD_BINDING_FAILURES for code in verification.failures)
    state = "hard binding still matches" if hard_ok else "pixels changed since signing"
    return RecoveredFinding(
        manifest=manifest_finding(verification, content_may_differ=True),
        soft_binding_alg=ALG,
        watermark_p_value=detection.p_value,
        hard_binding_matches=hard_ok,
        other_matches=len(matches) - 1,
        summary=f"Credentials recovered through the watermark ({state})",
    )
