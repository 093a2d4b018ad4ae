"""Text provenance as the application uses it: credentials embedded in texts (C2PA A.8), the
records of credentialed generations, and the one report for a text.

A text is read as received: its wrapper (if any) is located and validated first, then removed
before watermark detection and the statistical test (its variation selectors would otherwise be
normalised away as invisible characters and counted as evasion).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path

from api.core.media_service import MediaService
from api.core.text_service import TextService
from detect.manifest import absent_manifest, manifest_finding, unreadable_manifest
from detect.recovery import TextMatchPolicy, match_text_records, recover_text_credentials
from detect.report import Report, WatermarkFinding
from detect.text_report import text_report, text_watermark_finding
from provenance.store import ManifestRecord, SoftBindingMatch
from provenance.text_binding import CredentialedText, sign_and_record_text
from provenance.text_manifest import read_text_manifest, sign_text
from provenance.text_records import TextRecordIndex
from watermark.errors import InvalidInput, ManifestNotFound
from watermark.text import Generation
from watermark.text.model import EMBEDDED_MODEL_NAME

__all__ = ["SignedText", "TextProvenance"]


def _model_name(model: str | None) -> str:
    """The generator named in a signed manifest: a hub id as is, a local directory by its name
    only (a signed, public manifest does not carry the server's paths)."""
    if model is None:
        return EMBEDDED_MODEL_NAME
    return Path(model).name if Path(model).exists() else model


@dataclass(frozen=True)
class SignedText:
    """A text signed with an embedded manifest, and its store record."""

    text: str
    record: ManifestRecord


class TextProvenance:
    """Credentials for texts on top of the text service (model, keys) and the media service
    (signer, trust anchors, manifest store)."""

    def __init__(self, text: TextService, media: MediaService) -> None:
        self.text = text
        self.media = media
        self._lock = threading.Lock()
        self._index: TextRecordIndex | None = None

    @property
    def index(self) -> TextRecordIndex:
        """The text records and their fingerprint index (tables created on first use)."""
        with self._lock:
            if self._index is None:
                self._index = TextRecordIndex(self.media.store)
            return self._index

    @property
    def policy(self) -> TextMatchPolicy:
        """When a fingerprint counts as found (from settings)."""
        s = self.text.settings
        return TextMatchPolicy(min_containment=s.text_match_containment, min_matched=s.text_match_min_hashes)

    def _secret(self, key_id: str) -> bytes:
        return self.text.keyring.get(key_id).secret.reveal()

    def sign_generation(self, generation: Generation, record_id: str) -> CredentialedText:
        """Embed a signed manifest declaring AI origin, soft-bound to the generation's watermark,
        and record the generation (manifest, key, scheme, fingerprint) for recovery.

        Raises:
            InvalidInput: the generation carries no watermark, or is empty.
            SignatureInvalid: signing failed.
        """
        mark = generation.watermark
        if not mark:
            raise InvalidInput("credentials are bound to the watermark: generate with the watermark on")
        key_id = str(mark["key_id"])
        s = self.text.settings
        return sign_and_record_text(
            generation.text,
            self.media.credentials(),
            self.index,
            record_id=record_id,
            key_id=key_id,
            scheme=str(mark["scheme"]),
            key_secret=self._secret(key_id),
            model=_model_name(s.model),
            signer=self.media.signer_name,
            sign_callback=self.media.sign_callback,
            tsa_url=s.tsa_url,
        )

    def sign(
        self,
        text: str,
        *,
        title: str,
        action: str = "c2pa.created",
        digital_source_type: str | None = None,
        software_agent: str | None = None,
    ) -> SignedText:
        """Sign a text (a human-written article, say) with a manifest embedded in it, and store it.

        Raises:
            InvalidInput: an empty text, one that already carries credentials, an unknown action
                or source type.
            SignatureInvalid: signing failed.
        """
        manifest = self.media.describe(
            title=title, action=action, digital_source_type=digital_source_type, software_agent=software_agent
        )
        signed_text, signed = sign_text(
            text,
            manifest,
            self.media.credentials(),
            sign_callback=self.media.sign_callback,
            tsa_url=self.text.settings.tsa_url,
        )
        return SignedText(signed_text, self.media.record_signed(signed, signed_text.encode("utf-8"), "text/plain"))

    def report(self, text: str, *, key_id: str | None = None) -> Report:
        """The one report for a text as received: its embedded credentials, watermarks, credentials
        recovered through the watermark when the text carries none, and AI-likelihood.

        Raises:
            UnknownKey: ``key_id`` is not in the key ring.
            InvalidInput, PayloadTooLarge: an empty, too long or invalid text.
        """
        found = read_text_manifest(text, trust_anchors=self.media.trust_anchors())
        visible = found.visible_text
        if not visible.strip():
            raise InvalidInput("the text is empty (apart from its credentials)")
        detections = self.text.detections(visible, key_id=key_id)
        if not found.verification.manifest_present:
            provenance = absent_manifest()
        elif found.verification.validation_state is None:  # a wrapper whose store cannot be parsed
            provenance = unreadable_manifest(found.error or "the credentials cannot be read")
        else:
            provenance = manifest_finding(found.verification)
        recovered = None
        if not found.verification.manifest_present:
            recovered = recover_text_credentials(
                visible,
                detections,
                self.index,
                self._secret,
                trust_anchors=self.media.trust_anchors(),
                policy=self.policy,
            )
        return text_report(
            text,
            detections,
            ai_likelihood=self.text.likelihood(visible),
            provenance=provenance,
            recovered=recovered,
            recovery_checked=True,
        )

    def matches_by_content(self, text: str) -> tuple[list[SoftBindingMatch], WatermarkFinding]:
        """Stored manifests for a text: the one it carries (if stored here), then the records its
        watermark and fingerprint lead to, with the containment as similarity (0-100)."""
        found = read_text_manifest(text, trust_anchors=self.media.trust_anchors())
        matches: list[SoftBindingMatch] = []
        label = found.verification.label
        if label:
            with contextlib.suppress(ManifestNotFound):  # carried, but not signed here
                self.media.store.record(label)
                matches.append(SoftBindingMatch(label))
        visible = found.visible_text
        detections = self.text.detections(visible)
        marked = [d for d in detections if d.detected and d.key_id]
        for m in match_text_records(
            visible, [d.key_id for d in marked if d.key_id], self.index, self._secret, self.policy
        ):
            if all(m.manifest_id != x.manifest_id for x in matches):
                matches.append(SoftBindingMatch(m.manifest_id, similarity_score=round(100 * m.containment)))
        return matches, text_watermark_finding(detections[0])  # one per key, best first
