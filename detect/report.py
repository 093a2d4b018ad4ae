"""The one report type for any content (see DESIGN.md), as far as the landed signals fill it.

Fields not yet computed by any landed component are ``None`` and listed in ``not_checked``,
so a reader never mistakes "not checked" for "checked and absent".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from watermark.text.detector import TextDetection

__all__ = ["Report", "text_report"]


@dataclass(frozen=True)
class Report:
    """Everything Assay found about one piece of content."""

    content_type: str
    label: str
    watermarks: tuple[TextDetection, ...]
    provenance: dict[str, Any] | None = None
    recovered: dict[str, Any] | None = None
    ai_likelihood: dict[str, Any] | None = None
    not_checked: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "content_type": self.content_type,
            "label": self.label,
            "watermarks": [w.to_dict() for w in self.watermarks],
            "provenance": self.provenance,
            "recovered": self.recovered,
            "ai_likelihood": self.ai_likelihood,
            "not_checked": list(self.not_checked),
        }


def _label(detections: tuple[TextDetection, ...]) -> str:
    hits = [d for d in detections if d.detected]
    if hits:
        best = hits[0]
        return (
            f"AI-generated: carries Assay watermark key {best.key_id!r} "
            f"(p = {best.p_value:.2g}, {best.tokens_scored} tokens)"
        )
    if detections and all(d.verdict == "too-short" for d in detections):
        return "Too short to decide"
    partial = [d for d in detections if d.spans]
    if partial:
        return "Contains watermarked passages"
    return "No watermark found (this does not show the text is human-written)"


def text_report(detections: list[TextDetection]) -> Report:
    """The report for a text, from the watermark detections under every key (best first)."""
    dets = tuple(detections)
    label = _label(dets)
    if any(d.normalization for d in dets):
        label += "; the text contains invisible or look-alike characters (a sign of evasion)"
    return Report(
        content_type="text/plain",
        label=label,
        watermarks=dets,
        not_checked=("provenance", "ai_likelihood"),
    )
