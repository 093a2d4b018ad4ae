"""The report for a text: watermark detections under every key, and the statistical verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .report import (
    AiLikelihoodFinding,
    ManifestFinding,
    Marker,
    RecoveredFinding,
    Report,
    Signal,
    WatermarkFinding,
)
from .verdict import assemble, sha256_hex

if TYPE_CHECKING:
    from watermark.text.detector import TextDetection

__all__ = ["text_report", "text_watermark_finding"]


def text_watermark_finding(d: TextDetection) -> WatermarkFinding:
    """One key's detection as a finding."""
    return WatermarkFinding(
        kind="text",
        scheme=d.scheme,
        key_id=d.key_id,
        detected=d.detected,
        verdict=d.verdict,
        p_value=d.p_value,
        p_value_kind="exact",
        decided_at_fpr=d.alpha,
        evidence_size=d.tokens_scored,
        evidence_unit="tokens",
        keys_tried=d.keys_tried,
        spans=d.spans,
        parameters=dict(d.parameters),
        z_score=d.z_score,
        green_fraction=d.green_fraction,
        p_value_text=d.p_value_text,
        windows_tested=d.windows_tested,
        normalization=d.normalization,
    )


def text_report(
    text: str,
    detections: Sequence[TextDetection],
    ai_likelihood: AiLikelihoodFinding | None = None,
    *,
    provenance: ManifestFinding | None = None,
    recovered: RecoveredFinding | None = None,
    recovery_checked: bool = False,
    markers: Sequence[Marker] = (),
) -> Report:
    """The report for ``text`` (as received, its credentials included): watermark detections
    under every key (best first), the C2PA manifest the text carries (``provenance``; None when
    not read), credentials recovered through the watermark, and optionally the statistical verdict.
    """
    not_checked: list[Signal] = []
    if provenance is None:
        not_checked.append("provenance")
    if not recovery_checked:
        not_checked.append("recovered")
    if ai_likelihood is None:
        not_checked.append("ai_likelihood")
    return assemble(
        content_type="text/plain",
        content_sha256=sha256_hex(text.encode("utf-8")),
        watermarks=[text_watermark_finding(d) for d in detections],
        provenance=provenance,
        recovered=recovered,
        ai_likelihood=ai_likelihood,
        not_checked=not_checked,
        markers=markers,
        evasion=any(d.normalization for d in detections),
    )
