"""Recover stripped C2PA credentials through the image watermark.

Given an image and the watermark detection made on it, the payload is looked up in the manifest
store under the Assay soft-binding algorithm; the stored manifest is validated against the image
as it is now. After re-encoding the hard binding no longer matches the pixels (reported, and
expected); the claims, signer and actions are the original ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from provenance.c2pa_io import Verification, verify_asset
from provenance.soft_binding import ALG, binding_value
from provenance.store import ManifestStore
from watermark.image import ImageDetection

__all__ = ["RecoveredCredentials", "recover_credentials"]

_HARD_BINDING_FAILURES = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch")


@dataclass(frozen=True)
class RecoveredCredentials:
    """A stored manifest found through the watermark, validated against the current image."""

    manifest_id: str
    soft_binding_alg: str
    watermark_p_value: float
    verification: Verification
    hard_binding_matches: bool
    other_matches: int

    @property
    def summary(self) -> str:
        """One line for a report."""
        state = "hard binding still matches" if self.hard_binding_matches else "pixels changed since signing"
        return f"credentials recovered through the watermark ({state})"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        v = self.verification
        return {
            "summary": self.summary,
            "manifest_id": self.manifest_id,
            "soft_binding_alg": self.soft_binding_alg,
            "watermark_p_value": self.watermark_p_value,
            "hard_binding_matches": self.hard_binding_matches,
            "validation_state": v.validation_state,
            "failures": list(v.failures),
            "signer": v.signer,
            "claim_generator": v.claim_generator,
            "actions": list(v.actions),
            "digital_source_type": v.digital_source_type,
            "development_signer": v.development_signer,
            "other_matches": self.other_matches,
        }


def recover_credentials(
    data: bytes,
    mime: str,
    detection: ImageDetection,
    store: ManifestStore,
    *,
    trust_anchors: Sequence[str] = (),
) -> RecoveredCredentials | None:
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
    hard_ok = not any(code in verification.failures for code in _HARD_BINDING_FAILURES)
    return RecoveredCredentials(
        manifest_id=manifest_id,
        soft_binding_alg=ALG,
        watermark_p_value=detection.p_value,
        verification=verification,
        hard_binding_matches=hard_ok,
        other_matches=len(matches) - 1,
    )
