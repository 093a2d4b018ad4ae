"""One inspection for any content: what to check, in which order, when to try recovery, and the
report.

- **Text**: the credentials it carries (C2PA A.8) are read and validated first, then removed
  before watermark detection and the statistical test (their variation selectors would otherwise
  be normalised away as invisible characters and counted as evasion); credentials are recovered
  through the watermark and the fingerprint only when the text carries none.
- **Image**: the pixels are decoded once (inside the caller's decode budget) for every watermark,
  then the embedded manifest is read; credentials are recovered through the watermark when the
  file carries none.
- **Video**: the embedded manifest, and the video watermark read from frames sampled over its
  first 30 s; credentials are recovered through the watermark when the file carries none.
- **Audio**: the embedded manifest, and the audio watermark read from its first 60 s (also for
  an MP4 that holds sound only); credentials are recovered through the watermark when the file
  carries none.
- **PDF**: the embedded manifest only (no watermark or statistical test applies).

Every kind is then read for labels (AIGC implicit labels, IPTC source types, a text's explicit
notice; :mod:`provenance.labels`), which the headline counts as weak evidence, and judged
against the labelling regimes (:mod:`detect.compliance`) from the report's findings.

The models, the key ring and the record index live in the application; they are handed in as
collaborators (:class:`Checks`, :class:`TextChecks`), so this module opens nothing itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from provenance.c2pa_io import SUPPORTED_MIME
from provenance.content_code import sound_code, video_code
from provenance.labels import FoundLabel, parse_aigc, read_labels, read_text_labels
from provenance.soft_binding import AUDIO_ALG, VIDEO_ALG
from provenance.store import ManifestStore
from provenance.text_manifest import read_text_manifest
from watermark.audio import AudioWatermarkDetector
from watermark.audio.files import DETECT_SECONDS, probe_audio
from watermark.errors import ConfigurationError, InvalidInput
from watermark.image import ImageWatermarkDetector
from watermark.image.codec import DEFAULT_MAX_PIXELS, read_header
from watermark.video import probe_video, stream_kinds

from .audio import audio_watermark
from .compliance import REGIME_NAMES, judge
from .content import Content
from .image import image_report
from .label_findings import label_findings
from .labels import AI_SOURCE_TYPES
from .manifest import absent_manifest, manifest_finding, read_manifest, unreadable_manifest
from .recovery import MarkReading, recover_by_content_code, recover_credentials
from .report import AiLikelihoodFinding, Marker, RecoveredFinding, Report, Signal
from .text_report import text_report
from .trust_naming import TrustNaming
from .verdict import assemble, sha256_hex
from .video import video_watermark

if TYPE_CHECKING:
    from watermark.text.detector import TextDetection

VIDEO_SECONDS = 30.0  # the stretch of a video its watermark is read from (frames sampled across it)
AUDIO_SECONDS = DETECT_SECONDS  # the stretch of a sound its watermark is read from

__all__ = [
    "AUDIO_SECONDS",
    "VIDEO_SECONDS",
    "Checks",
    "TextChecks",
    "inspect",
    "inspect_media",
    "inspect_text",
    "sound_only",
    "with_labels",
]


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


def _label_markers(found: Sequence[FoundLabel], skip_iptc: bool = False) -> list[Marker]:
    """Labels that claim AI origin, as weak evidence for the headline (unsigned: easy to forge)."""
    markers: list[Marker] = []
    for f in found:
        if f.kind == "aigc" and parse_aigc(f.value).says != "unknown":
            markers.append(Marker(kind="aigc-label", detail=f"GB 45438 implicit label, {f.carrier} {f.field}"))
        elif f.kind == "explicit":
            markers.append(Marker(kind="explicit-label", detail=f"notice at the text's {f.field}: {f.value}"))
        elif f.kind == "iptc" and not skip_iptc and (short := f.value.rsplit("/", 1)[-1]) in AI_SOURCE_TYPES:
            markers.append(Marker(kind="iptc-label", detail=f"IPTC source type {short}"))
    return markers


def with_labels(report: Report, found: Sequence[FoundLabel]) -> Report:
    """``report`` with its label findings and the labelling regimes judged from it."""
    report = report.model_copy(update={"labels": label_findings(found, report.provenance)})
    compliance = judge(report)
    lines = [f"Label: {lab.in_words}" for lab in report.labels]
    lines += [f"{REGIME_NAMES[c.regime]}: {c.status} — {c.summary}" for c in compliance]
    return report.model_copy(update={"compliance": compliance, "details": (*report.details, *lines)})


def _no_budget(_: int) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass(frozen=True)
class Checks:
    """The collaborators of an inspection.

    Args:
        trust_anchors: PEM roots a manifest's signer is checked against.
        image_detector: the image watermark detector over the key ring (None: images refused).
        audio_detector: the audio watermark detector over the key ring (None: not read).
        texts: the text side (None: texts refused).
        store: the manifest store, for recovery through a watermark (None: not tried).
        max_pixels: the largest image decoded.
        decoding: holds a share of the process's decode budget (in bytes) while an image's
            pixels or a video's frames are in memory.
        trust: names who vouches for a trusted signer (None: reports say only "trusted").
    """

    trust_anchors: Sequence[str] = ()
    image_detector: ImageWatermarkDetector | None = None
    audio_detector: AudioWatermarkDetector | None = None
    texts: TextChecks | None = None
    store: ManifestStore | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    decoding: Callable[[int], AbstractContextManager[None]] = field(default=_no_budget)
    trust: TrustNaming | None = None


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
        return inspect_text(
            content.text or "", checks.texts, trust_anchors=checks.trust_anchors, key_id=key_id, trust=checks.trust
        )
    if content.kind == "media" and content.mime is not None:
        return inspect_media(
            content.data,
            content.mime,
            trust_anchors=checks.trust_anchors,
            trust=checks.trust,
            video_detector=checks.image_detector,
            audio_detector=checks.audio_detector,
            store=checks.store,
            decoding=checks.decoding,
        )
    if checks.image_detector is None:
        raise ConfigurationError("this inspection has no image watermark detector")
    header = content.header
    if header is None or header.pixels > checks.max_pixels:  # read again for the limit's own error
        header = read_header(content.data, max_pixels=checks.max_pixels)
    found = read_labels(content.data, header.mime_type)
    with checks.decoding(header.check_bytes):
        report = image_report(
            content.data,
            header.mime_type,
            checks.image_detector,
            store=checks.store,
            trust_anchors=checks.trust_anchors,
            max_pixels=checks.max_pixels,
            markers=_label_markers(found, skip_iptc=True),
            trust=checks.trust,
        )
    return with_labels(report, found)


def inspect_text(
    text: str,
    texts: TextChecks,
    *,
    trust_anchors: Sequence[str] = (),
    key_id: str | None = None,
    trust: TrustNaming | None = None,
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
        provenance = manifest_finding(found.verification, trust=trust)
    recovered = None if found.verification.manifest_present else texts.recover(visible, detections)
    labels = read_text_labels(visible)
    report = text_report(
        text,
        detections,
        ai_likelihood=texts.likelihood(visible),
        provenance=provenance,
        recovered=recovered,
        recovery_checked=True,
        markers=_label_markers(labels),
    )
    return with_labels(report, labels)


def sound_only(data: bytes, mime: str) -> bool:
    """Audio, or an MP4/Matroska file that holds sound and no pictures."""
    if mime.startswith("audio/"):
        return True
    if not mime.startswith("video/"):
        return False
    video, audio = stream_kinds(data)
    return audio and not video


def inspect_media(
    data: bytes,
    mime: str,
    *,
    trust_anchors: Sequence[str] = (),
    trust: TrustNaming | None = None,
    video_detector: ImageWatermarkDetector | None = None,
    audio_detector: AudioWatermarkDetector | None = None,
    video_seconds: float = VIDEO_SECONDS,
    audio_seconds: float = AUDIO_SECONDS,
    store: ManifestStore | None = None,
    decoding: Callable[[int], AbstractContextManager[None]] = _no_budget,
) -> Report:
    """The report for an audio, video or PDF file: its C2PA manifest, its labels and, for video
    with ``video_detector``, the Assay video watermark read from frames sampled over its first
    ``video_seconds``, for sound (a video's soundtrack too) with ``audio_detector`` the audio
    watermark read from its first ``audio_seconds`` (each inside ``decoding``'s share of the
    budget); a video or a sound whose credentials were stripped gets them back from ``store``
    through its watermark (a video's frames first, then its soundtrack)."""
    found = read_labels(data, mime)
    c2pa = mime in SUPPORTED_MIME
    watermarks = []
    reading: MarkReading | None = None
    alg = VIDEO_ALG
    # which streams the file holds, read once: sound alone, or pictures with or without sound
    pictures, has_sound = stream_kinds(data) if mime.startswith("video/") else (False, mime.startswith("audio/"))
    sound = has_sound and not pictures
    probe = None  # a video's frame size and length, read where its frames are checked
    if mime.startswith("video/") and not sound and video_detector is not None:
        try:
            probe = probe_video(data)
        except InvalidInput:
            probe = None  # nothing will be decoded: the finding says why
        with decoding(probe.detection_bytes() if probe is not None else 1):
            finding, reading = video_watermark(data, video_detector, max_seconds=video_seconds, probe=probe)
        watermarks.append(finding)
    held = 1  # the decode budget a sound's reading holds
    if has_sound and audio_detector is not None:
        try:
            held = probe_audio(data).held_bytes(audio_seconds)
        except InvalidInput:
            held = 1  # nothing will be decoded: the finding says why
        with decoding(held):
            heard, listened = audio_watermark(data, audio_detector, max_seconds=audio_seconds)
        watermarks.append(heard)
        if reading is None or (not reading.found and listened is not None and listened.found):
            reading, alg = listened, AUDIO_ALG  # a video's soundtrack carries the same payload
    provenance = read_manifest(data, mime, trust_anchors=trust_anchors, trust=trust) if c2pa else None
    recovered = None
    if store is not None and reading is not None and c2pa and (provenance is None or not provenance.present):
        recovered = recover_credentials(data, mime, reading, store, trust_anchors=trust_anchors, trust=trust, alg=alg)
        if recovered is None and (sound or probe is not None):  # the mark is gone: like a signed sound or video?
            with decoding(held if probe is None else probe.detection_bytes()):
                code = sound_code(data) if probe is None else video_code(data, mime)
            recovered = recover_by_content_code(
                data, mime, code, reading.p_value, store, trust_anchors=trust_anchors, trust=trust
            )
    skipped: list[Signal] = ["watermark"] if not watermarks else []
    skipped += ["recovered"] if store is None or reading is None else []
    skipped.append("ai_likelihood")
    skipped += ["provenance"] if not c2pa else []
    report = assemble(
        content_type=mime,
        content_sha256=sha256_hex(data),
        watermarks=watermarks,
        provenance=provenance,
        recovered=recovered,
        markers=_label_markers(found),
        not_checked=skipped,
    )
    return with_labels(report, found)
