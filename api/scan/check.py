"""One scan item checked: the ``verify`` operation on its content, as one :class:`ScanRow`.

Every engine (this process, a local process pool, Ray actors) calls :class:`Checker`, so an item
is one ``verify`` row in the audit log with the same SHA-256 as its scan row, wherever it ran.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.core.error_kinds import kind_of
from api.core.operations import Operations, subject_bytes
from api.core.runtime import Runtime, cli_actor
from api.core.settings import Settings
from api.scan.sources import ScanItem, read_item
from detect.report import Report
from detect.verdict import sha256_hex
from watermark.errors import AssayError

__all__ = ["Checker", "ScanRow", "row_of"]


class ScanRow(BaseModel):
    """One checked item: the columns an auditor reads, and the full report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: Literal["text", "image", "audio", "video", "document", "unknown"]
    sha256: str | None = Field(description="SHA-256 of the content: the subject of its audit row.")
    verdict: Literal["ai", "no-evidence", "inconclusive", "error"]
    label: str
    tampered: bool = False
    watermark_detected: bool = False
    watermark_key: str | None = None
    watermark_p_value: float | None = None
    manifest_id: str | None = None
    manifest_state: str | None = None
    signer: str | None = None
    signer_trusted: bool | None = None
    recovered: bool = False
    ai_p_value: float | None = None
    implicit_label: str | None = Field(default=None, description="The AIGC label's Label value (1, 2, 3), if any.")
    eu_ai_act_art50: str | None = Field(default=None, description="meets, partial, does-not-meet, not-applicable.")
    cn_gb_45438_2025: str | None = None
    ca_sb_942: str | None = None
    error: str | None = None
    audit_leaf: int | None = Field(
        default=None, description="The leaf index of the item's verify row in the audit log's Merkle tree."
    )
    report: Report | None = None


def row_of(item_id: str, kind: Literal["text", "image", "audio", "video", "document"], report: Report) -> ScanRow:
    """The scan row of one report."""
    hit = next((w for w in report.watermarks if w.detected), None)
    manifest = report.provenance if report.provenance and report.provenance.present else None
    if manifest is None and report.recovered is not None:
        manifest = report.recovered.manifest
    signer = manifest.signer.name if manifest and manifest.signer else None
    status = {c.regime: c.status for c in report.compliance}
    aigc = next((lab for lab in report.labels if lab.kind == "aigc"), None)
    return ScanRow(
        id=item_id,
        kind=kind,
        sha256=report.content_sha256,
        verdict=report.verdict,
        label=report.label,
        tampered=report.tampered,
        watermark_detected=hit is not None,
        watermark_key=hit.key_id or hit.generator if hit else None,
        watermark_p_value=hit.p_value if hit else None,
        manifest_id=manifest.manifest_id if manifest else None,
        manifest_state=manifest.verdict if manifest else None,
        signer=signer,
        signer_trusted=manifest.trusted if manifest else None,
        recovered=report.recovered is not None,
        ai_p_value=report.ai_likelihood.p_value if report.ai_likelihood else None,
        implicit_label=aigc.fields.get("Label", "?") if aigc is not None else None,
        eu_ai_act_art50=status.get("eu-ai-act-art50"),
        cn_gb_45438_2025=status.get("cn-gb-45438-2025"),
        ca_sb_942=status.get("ca-sb-942"),
        report=report,
    )


class Checker:
    """Checks items with one runtime (opened once: the model and detectors load on first use)."""

    def __init__(self, settings: Settings) -> None:
        # The settings object itself: a JSON dump would mask the secret fields.
        self.ops = Operations(Runtime.open(settings))

    def __call__(self, item: ScanItem) -> ScanRow:
        """The row of one item; an item that cannot be checked is a row with verdict ``error``."""
        content: str | bytes | None = None
        try:
            content = read_item(item)
            report = self.ops.verify(
                content, actor=cli_actor(), as_text=item.as_text, context={"scan_item": item.item_id}
            )
        except AssayError as exc:  # audited by the operation; a file that cannot be read is no content checked
            return ScanRow(
                id=item.item_id,
                kind="text" if item.as_text or isinstance(content, str) else "unknown",
                sha256=None if content is None else sha256_hex(subject_bytes(content)),
                verdict="error",
                label=f"Could not check this item: {str(exc)[:300]}",
                error=kind_of(exc).slug,
            )
        return row_of(item.item_id, _kind(report.content_type), report)


def _kind(content_type: str) -> Literal["text", "image", "audio", "video", "document"]:
    major = content_type.split("/")[0]
    if major in ("text", "image", "audio", "video"):
        return major  # type: ignore[return-value]
    return "document"
