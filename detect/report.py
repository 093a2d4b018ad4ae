"""The one typed report for any content, and the findings it is made of.

Every finding answers "is there a mark / a declaration / evidence?" in the same words:
``detected``, ``p_value``, ``decided_at_fpr``, ``verdict`` (a closed set) and, where keyed,
``key_id`` and ``scheme``. The report is built from typed objects inside Assay and serialised
once, at the edge (:meth:`Report.to_json`); its JSON Schema is published as
``detect/report.schema.json`` (rewrite it with :func:`write_report_schema` after changing a
type; a test fails while it is stale) and is the response schema of the HTTP API.

Importing this module imports neither torch nor transformers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from watermark.span import Span

__all__ = [
    "SCHEMA_PATH",
    "SCHEMA_VERSION",
    "ActionRecord",
    "AiLikelihoodFinding",
    "ComplianceFinding",
    "Evidence",
    "IngredientRecord",
    "LabelFinding",
    "ManifestFinding",
    "Marker",
    "RecoveredFinding",
    "Report",
    "Signer",
    "Span",
    "TimeRange",
    "ValidationCode",
    "WatermarkFinding",
    "report_json_schema",
    "write_report_schema",
]

SCHEMA_VERSION: Literal["1.3"] = "1.3"

Verdict = Literal["ai", "no-evidence", "inconclusive"]
WatermarkVerdict = Literal["watermarked", "not-detected", "too-short", "too-small", "inconclusive"]
ManifestVerdict = Literal["absent", "trusted", "valid", "invalid", "unreadable"]
EvidenceKind = Literal["watermark", "c2pa", "recovered", "metadata", "statistical"]
Signal = Literal["watermark", "provenance", "recovered", "ai_likelihood"]
Scalar = str | int | float | bool
LabelSays = Literal["ai-generated", "possibly-ai", "suspected-ai", "not-ai", "unknown"]
Regime = Literal["eu-ai-act-art50", "cn-gb-45438-2025", "ca-sb-942"]
Layer = Literal["signed-metadata", "timestamp", "watermark", "fingerprint", "implicit-label", "explicit-label"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeRange(_Model):
    """A stretch of a sound, in seconds from its start."""

    start: float = Field(ge=0.0)
    end: float = Field(ge=0.0)


class WatermarkFinding(_Model):
    """One watermark test: an Assay text key, an Assay image key ring, or a public image mark."""

    kind: Literal["text", "image", "video", "audio", "public"] = Field(
        description=(
            "`text`, `image`, `video` and `audio`: Assay's keyed marks; `public`: an unkeyed mark a generator embeds."
        )
    )
    scheme: str = Field(examples=["kgw", "assay-image-ss", "assay-audio-stft", "invisible-watermark-dwtdct"])
    key_id: str | None = Field(description="The key that matched (or was tested); null for public marks.")
    detected: bool
    verdict: WatermarkVerdict
    p_value: float = Field(ge=0.0, le=1.0, description="Under 'not marked': corrected for every key and test.")
    p_value_kind: Literal["exact", "union-bound", "approximate"]
    decided_at_fpr: float = Field(gt=0.0, lt=1.0)
    evidence_size: int = Field(ge=0, description="What the p-value rests on, counted in `evidence_unit`.")
    evidence_unit: Literal["tokens", "decodes", "bits", "alignments"] = Field(
        description=(
            "`alignments`: audio whose record id did not decode: the p-value is the mark's pilots' test, "
            "counting every alignment of the pilots the search could try (found: the key's mark, its "
            "record id unread)."
        )
    )
    keys_tried: int = Field(ge=0)
    reason: str | None = Field(default=None, description="Why the test could not look (`inconclusive`).")
    spans: tuple[Span, ...] = Field(default=(), description="Text only: passages where the mark is concentrated.")
    # text keys
    parameters: dict[str, Scalar] = Field(default_factory=dict)
    z_score: float | None = None
    green_fraction: float | None = None
    p_value_text: float | None = Field(default=None, description="Text only: the whole-text test alone.")
    windows_tested: int | None = None
    normalization: dict[str, int] | None = Field(
        default=None, description="Characters removed or folded when normalisation changed the text."
    )
    # image key ring
    record_id: str | None = Field(
        default=None, description="Images, video and audio: the payload's 48-bit record id, hex."
    )
    bit_accuracy: float | None = None
    pilot_z: float | None = None
    geometry_searched: bool | None = None
    geometry: dict[str, float] | None = Field(
        default=None,
        description=(
            "Image only: how the mark's tile lattice sits in the image as found: `scale` (detection-frame "
            "pixels per tile pixel), `angle` (degrees), `aspect` (stretch of the tile's x axis over its y "
            "axis; 1 unless the image was stretched) and `shear` (degrees). Audio: `time_scale` and "
            "`frequency_scale`, how much faster the sound plays and how much higher it sounds than when marked."
        ),
    )
    # video
    frames_read: int | None = Field(default=None, description="Video only: the frames sampled and read.")
    # audio
    time_spans: tuple[TimeRange, ...] = Field(
        default=(), description="Audio only: the stretches of the sound (seconds from its start) that carry the mark."
    )
    seconds_read: float | None = Field(default=None, description="Audio only: the seconds of sound read.")
    # public marks
    generator: str | None = None


class ValidationCode(_Model):
    """A C2PA validation status code, explained."""

    code: str = Field(examples=["assertion.dataHash.mismatch"])
    explanation: str
    concerns: Literal["integrity", "trust", "other"] = Field(
        description="`integrity`: the file or manifest changed; `trust`: who signed is not trusted here."
    )


class Signer(_Model):
    """Who signed a manifest, from its certificate."""

    name: str | None
    issuer: str | None
    algorithm: str | None
    certificate_serial: str | None


class ActionRecord(_Model):
    """One action a manifest declares (``c2pa.actions``), in words."""

    action: str = Field(examples=["c2pa.created"])
    in_words: str = Field(examples=["Created"])
    software_agent: str | None = None
    digital_source_type: str | None = None


class IngredientRecord(_Model):
    """An asset this one was made from."""

    title: str | None
    format: str | None
    relationship: str | None
    manifest_id: str | None


class ManifestFinding(_Model):
    """The C2PA manifest of a file (or one recovered from the store), validated here."""

    present: bool
    verdict: ManifestVerdict = Field(
        description="`trusted`/`valid`: the signature holds (`valid`: signer not on this server's trust list); "
        "`invalid`: the file or manifest changed after signing; `unreadable`: a manifest that cannot be parsed."
    )
    detected: bool = Field(description="Whether a valid manifest declares AI origin.")
    manifest_id: str | None = Field(description="The manifest label (`urn:c2pa:...`), the id Assay uses everywhere.")
    validation_state: Literal["Invalid", "Valid", "Trusted"] | None
    trusted: bool
    development_signer: bool
    signer: Signer | None = None
    signed_at: str | None = None
    title: str | None = None
    claim_generator: str | None = None
    digital_source_type: str | None = Field(default=None, description="The IPTC URI.")
    source_type: str | None = Field(default=None, description="The IPTC source type in words.")
    actions: tuple[ActionRecord, ...] = ()
    failures: tuple[ValidationCode, ...] = ()
    informational: tuple[str, ...] = ()
    ingredients: tuple[IngredientRecord, ...] = ()
    error: str | None = Field(
        default=None,
        description="Why the C2PA reader gave up (`unreadable`: a manifest is there but cannot be parsed).",
    )
    trusted_by: Literal["c2pa-trust-list", "server-anchors"] | None = Field(
        default=None,
        description="Which trust the signer chains to: the C2PA Trust List, or anchors this server's operator added.",
    )
    trust_entity: str | None = Field(
        default=None, description="The C2PA Trust List entity vouching for the signer (e.g. `Google LLC`)."
    )
    trust_list: str | None = Field(default=None, description="The trust list version judged against.")
    inception: str | None = Field(
        default=None,
        description="The C2PA asset rubric's inception signal (`fullyGenAIMedia`, `partlyGenAICreation`, "
        "`capturedMedia`, ...) of the created action.",
    )
    created_at: str | None = Field(default=None, description="When the created action says the asset was made.")
    claim_generator_version: str | None = None
    soft_bindings: tuple[str, ...] = Field(default=(), description="The soft-binding algorithms the manifest names.")
    soft_bindings_registered: tuple[bool, ...] = Field(
        default=(), description="Per soft binding: whether its algorithm is on the C2PA Soft Binding Algorithm List."
    )
    implicit_label: str | None = Field(
        default=None, description="An AIGC implicit label carried inside the manifest (texts), as JSON text."
    )


class LabelFinding(_Model):
    """One label that declares (or denies) AI origin, as found in the content."""

    kind: Literal["aigc", "iptc", "c2pa", "explicit"] = Field(
        description="`aigc`: GB 45438 implicit label; `iptc`: IPTC DigitalSourceType in XMP; `c2pa`: the "
        "manifest's digitalSourceType; `explicit`: a notice people can read."
    )
    carrier: str = Field(examples=["xmp", "id3", "riff", "mp4", "matroska", "front-matter", "c2pa-manifest"])
    field: str | None = Field(default=None, description="The name it was found under (`TXXX:aigc`, `TC260:AIGC`).")
    says: LabelSays
    fields: dict[str, str] = Field(default_factory=dict, description="AIGC: the seven keys as found.")
    valid: bool
    problems: tuple[str, ...] = Field(default=(), description="What makes it invalid or contradictory, in words.")
    notes: tuple[str, ...] = Field(default=(), description="Departures from the standard that still read clearly.")
    in_words: str


class ComplianceFinding(_Model):
    """One labelling regime judged from the findings: what is there, what is missing."""

    regime: Regime
    status: Literal["meets", "partial", "does-not-meet", "not-applicable"]
    layers: tuple[Layer, ...] = Field(description="The marking layers present.")
    missing: tuple[str, ...] = Field(description="What the regime asks for that is not there, in words.")
    notes: tuple[str, ...] = Field(default=(), description="Conditions a file check cannot decide, and readings.")
    basis: str = Field(description="The texts and versions judged against.")
    summary: str


class RecoveredFinding(_Model):
    """A stored manifest found through the watermark (or a fingerprint) after the content lost its own."""

    manifest: ManifestFinding
    soft_binding_alg: str
    watermark_p_value: float
    hard_binding_matches: bool = Field(
        description="False when the content changed since signing (an image re-encoded, a text edited)."
    )
    other_matches: int
    summary: str
    record_id: str | None = Field(default=None, description="Text only: the generation record found.")
    through: Literal["watermark", "fingerprint", "content-code"] = Field(
        default="watermark",
        description="What led to the record: the watermark, decided at the report's false-positive rate; "
        "(texts) the fingerprint, confirmed by a watermark too weak to decide alone (p <= 0.01); or (images, "
        "sounds, videos) the perceptual content code (ISCC) registered at signing, within the measured threshold: "
        "a likeness, weaker evidence than a watermark.",
    )
    similarity: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Texts: the fraction of the signed text's fingerprint found in this text (containment); "
        "found by content code: 1 - differing bits / 64.",
    )
    content_code: Literal["image", "audio", "video"] | None = Field(
        default=None, description="Found by content code: which kind of ISCC Content-Code matched."
    )


class AiLikelihoodFinding(_Model):
    """The statistical test of a text without a watermark: a conformal p-value against human text."""

    verdict: Verdict
    detected: bool
    p_value: float | None
    decided_at_fpr: float
    statistic: str = Field(
        description="The statistic the p-value is of: cross_model (the embedded and the second offline model "
        "together, the default) or log_likelihood (the embedded model alone)."
    )
    score: float | None = None
    standardized_score: float | None = None
    tokens: int
    length_bucket: int | None = None
    reference_size: int | None = Field(
        default=None, description="Human texts of this length the p-value was computed against."
    )
    reference_group: str | None = Field(
        default=None,
        description="Which human reference the text was calibrated against: a named group (a genre with its own "
        "reference, such as 'bible-web', that the text's wording was routed to; schema 1.3) or 'pooled', one "
        "reference over every source in reference_sources (the benchmark domains have too few human texts each "
        "to certify a 1 % rate alone; see docs/figures.md).",
    )
    reference_group_description: str | None = Field(
        default=None, description="A named group's human texts, in words (schema 1.3)."
    )
    reference_sources: dict[str, int] = Field(
        default_factory=dict, description="The reference's human texts per source (all lengths)."
    )
    abstain_reason: str | None = None
    classifier_probability: float | None = Field(default=None, description="Corroborates; never decides.")
    normalization: dict[str, int] = Field(default_factory=dict)
    features: dict[str, float] = Field(default_factory=dict)
    spans: tuple[Span, ...] = ()
    screened_above: float | None = Field(
        default=None,
        description="Set where the embedded model alone decided: its p-value was above this, so the second "
        "model was not run (a two-model detector flags only texts under it; the false-positive rate holds).",
    )
    meaning: str


class Marker(_Model):
    """An unsigned metadata trace a generator left (weak evidence: easy to strip or forge)."""

    kind: str
    detail: str


class Evidence(_Model):
    """One ranked piece of evidence: ``strong`` decides, ``weak`` annotates, ``none`` explains."""

    kind: EvidenceKind
    strength: Literal["strong", "weak", "none"]
    says_ai: bool
    summary: str


class Report(_Model):
    """Everything Assay found about one piece of content (text or image)."""

    schema_version: Literal["1.3"] = SCHEMA_VERSION
    content_type: str
    content_sha256: str = Field(description="SHA-256 of the bytes checked (UTF-8 for text): the audit log's subject.")
    label: str = Field(description="The headline for people: what was found and who vouches for it.")
    details: tuple[str, ...] = Field(description="Lines for experts: p-values, key ids, C2PA codes.")
    verdict: Verdict
    tampered: bool = Field(description="A manifest is present but fails validation; the label leads with it.")
    evidence: tuple[Evidence, ...] = ()
    provenance: ManifestFinding | None = None
    watermarks: tuple[WatermarkFinding, ...] = ()
    recovered: RecoveredFinding | None = None
    ai_likelihood: AiLikelihoodFinding | None = None
    markers: tuple[Marker, ...] = ()
    disagreements: tuple[str, ...] = ()
    not_checked: tuple[Signal, ...] = ()
    labels: tuple[LabelFinding, ...] = Field(default=(), description="Every label found (metadata, manifest, notice).")
    compliance: tuple[ComplianceFinding, ...] = Field(
        default=(), description="Per labelling regime (EU AI Act Art. 50, GB 45438-2025, SB 942): does it meet it."
    )

    @property
    def marked_key(self) -> str | None:
        """The key id of the first Assay watermark detected (text or image), if any."""
        return next((w.key_id for w in self.watermarks if w.detected and w.key_id), None)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the one serialisation, at the edge)."""
        return self.model_dump(mode="json")


SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Report` (draft 2020-12), as published in ``detect/report.schema.json``."""
    schema = Report.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://assay.dev/schemas/report-1.1.json",
    } | schema


def write_report_schema(path: Path = SCHEMA_PATH) -> None:
    """Write the published schema file (run after changing the report's types)."""
    path.write_text(json.dumps(report_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
