"""Text provenance as the application uses it: credentials embedded in texts (C2PA A.8), the
records of credentialed generations, and the one report for a text.

The inspection of a text (:func:`detect.inspect.inspect_text`) asks this class for watermark
detections, the AI-likelihood and recovery through the records (:class:`detect.inspect.TextChecks`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from api.core.media_service import MediaService
from api.core.text_service import TextService
from detect.inspect import inspect_text
from detect.recovery import TextMatchPolicy, match_text_records, recover_text_credentials
from detect.report import AiLikelihoodFinding, RecoveredFinding, Report, WatermarkFinding
from detect.text_report import text_watermark_finding
from provenance.store import ManifestRecord, SoftBindingMatch
from provenance.text_binding import CredentialedText, sign_and_record_text
from provenance.text_manifest import read_text_manifest, sign_text
from provenance.text_records import TextRecordIndex
from watermark.errors import InvalidInput, ManifestNotFound
from watermark.text import Generation
from watermark.text.detector import TextDetection
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
            implicit_label=self.media.output_label(record_id).to_json() if s.label_outputs else None,
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
            title=title,
            action=action,
            digital_source_type=digital_source_type,
            software_agent=software_agent,
            implicit_label=self.media.signed_label(digital_source_type, text.encode("utf-8", "surrogatepass")),
        )
        signed_text, signed = sign_text(
            text,
            manifest,
            self.media.credentials(),
            sign_callback=self.media.sign_callback,
            tsa_url=self.text.settings.tsa_url,
        )
        return SignedText(signed_text, self.media.record_signed(signed, signed_text.encode("utf-8"), "text/plain"))

    def detections(self, text: str, *, key_id: str | None = None) -> list[TextDetection]:
        """Watermark detections under every key, or only ``key_id`` (best first).

        Raises:
            UnknownKey: ``key_id`` is not in the key ring.
        """
        return self.text.detections(text, key_id=key_id)

    def likelihood(self, text: str) -> AiLikelihoodFinding | None:
        """The statistical AI-likelihood (None when turned off or unavailable)."""
        return self.text.likelihood(text)

    def recover(self, text: str, detections: Sequence[TextDetection]) -> RecoveredFinding | None:
        """The stored credentials this text's watermark and fingerprint lead to (None: none)."""
        return recover_text_credentials(
            text,
            detections,
            self.index,
            self._secret,
            trust_anchors=self.media.trust_anchors(),
            trust=self.media.trust_naming(),
            policy=self.policy,
        )

    def report(self, text: str, *, key_id: str | None = None) -> Report:
        """The one report for a text as received (see :func:`detect.inspect.inspect_text`).

        Raises:
            UnknownKey: ``key_id`` is not in the key ring.
            InvalidInput: the text is empty apart from its credentials.
        """
        return inspect_text(
            text, self, trust_anchors=self.media.trust_anchors(), key_id=key_id, trust=self.media.trust_naming()
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
