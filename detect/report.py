"""The one report type for any content (see DESIGN.md).

Evidence is ranked, strongest first: a watermark (exact p-value), a signed C2PA manifest that
declares AI origin, unsigned metadata markers (weak), then the statistical AI-likelihood. The
first strong level decides the verdict; the others annotate. A manifest that fails validation
is reported as tampered, never as evidence. Signals that were not computed are listed in
``not_checked`` so "not checked" is never mistaken for "checked and absent".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from watermark.text.detector import TextDetection

__all__ = ["Evidence", "Report", "decide", "text_report"]

VERDICTS = ("ai", "no-evidence", "inconclusive")


@dataclass(frozen=True)
class Evidence:
    """One finding: its kind, strength (``strong`` decides, ``weak`` only annotates) and a sentence."""

    kind: str  # watermark | c2pa | metadata | statistical | recovered
    strength: str  # strong | weak | none
    says_ai: bool
    summary: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "strength": self.strength, "says_ai": self.says_ai, "summary": self.summary}


@dataclass(frozen=True)
class Report:
    """Everything Assay found about one piece of content."""

    content_type: str
    label: str
    verdict: str
    watermarks: tuple[dict[str, Any], ...] = ()
    provenance: dict[str, Any] | None = None
    recovered: dict[str, Any] | None = None
    ai_likelihood: dict[str, Any] | None = None
    markers: tuple[dict[str, Any], ...] = ()
    evidence: tuple[Evidence, ...] = ()
    disagreements: tuple[str, ...] = ()
    not_checked: tuple[str, ...] = field(default=())

    @property
    def marked_key(self) -> str | None:
        """The key id of the first watermark found (text or image), if any."""
        hit = next((w for w in self.watermarks if w.get("detected") or w.get("found")), None)
        key = hit.get("key_id") if hit else None
        return str(key) if key else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "content_type": self.content_type,
            "label": self.label,
            "verdict": self.verdict,
            "evidence": [e.to_dict() for e in self.evidence],
            "watermarks": list(self.watermarks),
            "provenance": self.provenance,
            "recovered": self.recovered,
            "ai_likelihood": self.ai_likelihood,
            "markers": list(self.markers),
            "disagreements": list(self.disagreements),
            "not_checked": list(self.not_checked),
        }


def decide(evidence: Sequence[Evidence], *, abstained: bool = False) -> tuple[str, str]:
    """Verdict and label from ranked evidence (see module docstring)."""
    strong = [e for e in evidence if e.strength == "strong" and e.says_ai]
    if strong:
        return "ai", strong[0].summary
    weak = [e for e in evidence if e.strength == "weak" and e.says_ai]
    if weak:
        return "inconclusive", weak[0].summary + " (weak evidence: unsigned, easy to forge)"
    if abstained:
        return "inconclusive", next((e.summary for e in evidence if e.kind == "statistical"), "Not decided")
    tail = "this does not show a human made it"
    return "no-evidence", f"No watermark or AI declaration found ({tail})"


def _text_watermark_evidence(detections: Sequence[TextDetection]) -> list[Evidence]:
    out = []
    hits = [d for d in detections if d.detected]
    if hits:
        best = hits[0]
        out.append(
            Evidence(
                "watermark",
                "strong",
                True,
                f"AI-generated: carries Assay watermark key {best.key_id!r} "
                f"(p = {best.p_value:.2g}, {best.tokens_scored} tokens)",
            )
        )
    elif any(d.spans for d in detections):
        out.append(Evidence("watermark", "strong", True, "Contains watermarked passages"))
    return out


def text_report(detections: list[TextDetection], ai_likelihood: Any | None = None) -> Report:
    """The report for a text: watermark detections under every key (best first), and optionally
    the statistical verdict (a :class:`detect.text.AiLikelihood`)."""
    dets = tuple(detections)
    evidence = _text_watermark_evidence(dets)
    abstained = False
    likelihood = None
    if ai_likelihood is not None:
        likelihood = ai_likelihood.to_dict()
        if ai_likelihood.verdict == "ai":
            evidence.append(
                Evidence(
                    "statistical",
                    "strong",
                    True,
                    f"Likely AI-generated: unlike human writing (p = {ai_likelihood.p_value:.2g} "
                    f"at a {ai_likelihood.fpr:.0%} false-positive rate)",
                )
            )
        elif ai_likelihood.verdict == "inconclusive":
            abstained = True
            reason = str(ai_likelihood.abstain_reason)
            why = (
                f"Too short to decide ({reason.removeprefix('too-short ').strip('()')})"
                if reason.startswith("too-short")
                else f"Not decided: the text looks like {reason.replace('not-english', 'non-English text')}"
            )
            evidence.append(Evidence("statistical", "none", False, why))
    if not evidence and dets and all(d.verdict == "too-short" for d in dets) and ai_likelihood is None:
        abstained = True
        evidence.append(Evidence("statistical", "none", False, "Too short to decide"))
    verdict, label = decide(evidence, abstained=abstained)
    if any(d.normalization for d in dets):
        label += "; the text contains invisible or look-alike characters (a sign of evasion)"
    return Report(
        content_type="text/plain",
        label=label,
        verdict=verdict,
        watermarks=tuple(d.to_dict() for d in dets),
        ai_likelihood=likelihood,
        evidence=tuple(evidence),
        not_checked=("provenance",) + (() if ai_likelihood is not None else ("ai_likelihood",)),
    )
