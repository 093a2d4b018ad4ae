"""One inspection for any content: what to check, in which order, when to try recovery, and the
report.

- **Text**: the credentials it carries (C2PA A.8) are read and validated first, then removed
  before watermark detection and the statistical test (their variation selectors would otherwise
  be normalised away as invisible characters and counted as evasion); credentials are recovered
  through the watermark and the fingerprint only when the text carries none.
- **Image**: the pixels are decoded once (inside the caller's decode budget) for every watermark,
  then the embedded manifest is read; credentials are recovered through the watermark when the
  file carries none.
- **Audio, video, PDF**: the embedded manifest only (no watermark or statistical test applies).

The models, the key ring and the record index live in the application; they are handed in as
collaborators (:class:`Checks`, :class:`TextChecks`), so this module opens nothing itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from provenance.store import ManifestStore
from provenance.text_manifest import read_text_manifest
from watermark.errors import ConfigurationError, InvalidInput
from watermark.image import ImageWatermarkDetector
from watermark.image.codec import DEFAULT_MAX_PIXELS, ImageHeader, read_header

from .content import Content
from .image import image_report
from .manifest import absent_manifest, manifest_finding, read_manifest, unreadable_manifest
from .report import AiLikelihoodFinding, RecoveredFinding, Report
from .text_report import text_report
from .verdict import assemble, sha256_hex

if TYPE_CHECKING:
    from watermark.text.detector import TextDetection

__all__ = ["Checks", "TextChecks", "inspect", "inspect_media", "inspect_text"]


class TextChecks(Protocol):
    """What a text's inspection asks of the application (which holds the models and the records)."""

    def detections(self, text: str, *, key_id: str | None = None) -> list[TextDetection]:
        """Watermark detections under every key, or only ``key_id`` (best first)."""
        ...

    def likelihood(self, text: str) -> AiLikelihoodFinding | None:
        """The statistical AI-likelihood (None when turned off)."""
        ...

    def recover(self, text: str, detections: Sequence[TextDetection]) -> RecoveredFinding | None:
        """Stored credentials this text's watermark and fingerprint lead to (None: none)."""
        ...


def _no_budget(_: ImageHeader) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass(frozen=True)
class Checks:
    """The collaborators of an inspection.

    Args:
        trust_anchors: PEM roots a manifest's signer is checked against.
        image_detector: the image watermark detector over the key ring (None: images refused).
        texts: the text side (None: texts refused).
        store: the manifest store, for recovery through a watermark (None: not tried).
        max_pixels: the largest image decoded.
        decoding: holds an image's share of a decode budget while its pixels are in memory.
    """

    trust_anchors: Sequence[str] = ()
    image_detector: ImageWatermarkDetector | None = None
    texts: TextChecks | None = None
    store: ManifestStore | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    decoding: Callable[[ImageHeader], AbstractContextManager[None]] = field(default=_no_budget)


def inspect(content: Content, checks: Checks, *, key_id: str | None = None) -> Report:
    """Everything Assay can say about ``content``.

    Raises:
        InvalidInput, UnsupportedMedia, PayloadTooLarge: content that cannot be checked.
        UnknownKey: ``key_id`` is not in the key ring (texts).
        Overloaded: the decode budget stayed full (images).
        ConfigurationError: no collaborator for this kind of content.
    """
    if content.kind == "text":
        if checks.texts is None:
            raise ConfigurationError("this inspection has no text checks")
        return inspect_text(content.text or "", checks.texts, trust_anchors=checks.trust_anchors, key_id=key_id)
    if content.kind == "media" and content.mime is not None:
        return inspect_media(content.data, content.mime, trust_anchors=checks.trust_anchors)
    if checks.image_detector is None:
        raise ConfigurationError("this inspection has no image watermark detector")
    header = content.header
    if header is None or header.pixels > checks.max_pixels:  # read again for the limit's own error
        header = read_header(content.data, max_pixels=checks.max_pixels)
    with checks.decoding(header):
        return image_report(
            content.data,
            header.mime_type,
            checks.image_detector,
            store=checks.store,
            trust_anchors=checks.trust_anchors,
            max_pixels=checks.max_pixels,
        )


def inspect_text(
    text: str, texts: TextChecks, *, trust_anchors: Sequence[str] = (), key_id: str | None = None
) -> Report:
    """The report for a text as received: its embedded credentials, watermarks, credentials
    recovered through the watermark when it carries none, and the AI-likelihood.

    Raises:
        UnknownKey: ``key_id`` is not in the key ring.
        InvalidInput: the text is empty apart from its credentials.
    """
    found = read_text_manifest(text, trust_anchors=trust_anchors)
    visible = found.visible_text
    if not visible.strip():
        raise InvalidInput("the text is empty (apart from its credentials)")
    detections = texts.detections(visible, key_id=key_id)
    if not found.verification.manifest_present:
        provenance = absent_manifest()
    elif found.verification.validation_state is None:  # a wrapper whose store cannot be parsed
        provenance = unreadable_manifest(found.error or "the credentials cannot be read")
    else:
        provenance = manifest_finding(found.verification)
    recovered = None if found.verification.manifest_present else texts.recover(visible, detections)
    return text_report(
        text,
        detections,
        ai_likelihood=texts.likelihood(visible),
        provenance=provenance,
        recovered=recovered,
        recovery_checked=True,
    )


def inspect_media(data: bytes, mime: str, *, trust_anchors: Sequence[str] = ()) -> Report:
    """The report for an audio, video or PDF file: its C2PA manifest (no watermark applies)."""
    return assemble(
        content_type=mime,
        content_sha256=sha256_hex(data),
        provenance=read_manifest(data, mime, trust_anchors=trust_anchors),
        not_checked=["watermark", "recovered", "ai_likelihood"],
    )
