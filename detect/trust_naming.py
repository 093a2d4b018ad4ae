"""Who vouches for a trusted signer: an entity on the C2PA Trust List, or the anchors this
server's operator added.

c2pa validates the chain against every anchor at once and reports the signer's issuer
organisation, not the chain; the list entity is the one whose certificates carry that
organisation (a name shared by two entities names neither).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from provenance.trust_lists import TrustList

from .report import ManifestFinding

__all__ = ["ListTrust", "TrustNaming"]


class TrustNaming(Protocol):
    """Names who vouches for a trusted signer (the application's trust profile)."""

    def attribute(self, finding: ManifestFinding) -> ManifestFinding:
        """``finding`` with ``trusted_by``, ``trust_entity`` and ``trust_list`` filled."""
        ...


@dataclass(frozen=True)
class ListTrust:
    """Names trust against one C2PA Trust List (None: only the operator's anchors are in use)."""

    c2pa_list: TrustList | None

    def attribute(self, finding: ManifestFinding) -> ManifestFinding:
        """``finding`` with ``trusted_by``, ``trust_entity`` and ``trust_list`` filled when trusted."""
        if not finding.trusted:
            return finding
        issuer = finding.signer.issuer if finding.signer else None
        entity = self.c2pa_list.entity_for_issuer(issuer) if self.c2pa_list is not None else None
        return finding.model_copy(
            update={
                "trusted_by": "c2pa-trust-list" if entity is not None else "server-anchors",
                "trust_entity": entity.name if entity is not None else None,
                "trust_list": self.c2pa_list.version if self.c2pa_list is not None else None,
            }
        )
