"""Batch scans: a folder or a JSONL file of texts and images -> one report per item and a summary.

Items run in a local process pool (each worker loads the model once) or in this process; every
item goes through the ``verify`` operation, so it is one ``verify`` row in the audit log with the
same SHA-256 as the scan row. The scan report records when it ran, the tool version, the
settings that decide (false-positive rates, keys tried, trust), and the audit head at the end,
so an auditor can match each row to the log.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.cli.common import read_bounded
from api.operations import Operations, subject_bytes
from api.problems import kind_of
from api.runtime import Runtime, cli_actor
from api.settings import Settings
from detect.report import Report
from detect.verdict import sha256_hex
from watermark.errors import AssayError, InvalidInput
from watermark.image.detect import DEFAULT_FPR as IMAGE_FPR

__all__ = [
    "IMAGE_SUFFIXES",
    "ScanItem",
    "ScanReport",
    "ScanRow",
    "ScanSettings",
    "ScanSummary",
    "iter_items",
    "run_scan",
    "scan",
]

VERSION = "0.1.0"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
TEXT_SUFFIXES = {".txt", ".md"}
_MAX_FILE = 64 * 1024 * 1024


@dataclass(frozen=True)
class ScanItem:
    """One thing to check: a text, or a file."""

    item_id: str
    text: str | None = None
    path: str | None = None


class ScanRow(BaseModel):
    """One checked item: the columns an auditor reads, and the full report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: Literal["text", "image", "unknown"]
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
    error: str | None = None
    report: Report | None = None


class ScanSettings(BaseModel):
    """The settings a scan's verdicts depend on (never secrets)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text_watermark_fpr: float
    image_watermark_fpr: float
    ai_likelihood: bool
    ai_fpr: float
    keys_tried: list[str]
    trust_anchors: int = Field(description="Trust anchor certificates configured (PEM blocks).")
    trust_dev_signer: bool
    model: str
    store: str = Field(description="The store's database kind (its URL is not recorded).")


class ScanSummary(BaseModel):
    """Counts over a scan's items."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: int
    by_verdict: dict[str, int]
    by_kind: dict[str, int]
    watermarked: int
    signed: int = Field(description="Items whose own C2PA credentials were found (valid or not).")
    tampered: int
    recovered: int


class ScanReport(BaseModel):
    """A whole scan: when, with what, the summary, the audit head at the end, and every row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str = "assay"
    version: str = VERSION
    source: str
    started_at: str
    finished_at: str
    settings: ScanSettings
    audit_rows: int = Field(description="Rows in the audit log when the scan ended.")
    audit_head: str = Field(description="The audit log's head hash when the scan ended (for `--expect-head`).")
    summary: ScanSummary
    items: list[ScanRow]


def iter_items(source: Path) -> Iterator[ScanItem]:
    """The items of a folder (images and .txt/.md files, recursively, sorted) or of a JSONL file
    (rows ``{"text": ...}`` or ``{"path": ...}``, each with an optional ``"id"``).

    Raises:
        InvalidInput: a missing source, or a JSONL row that is not such an object.
    """
    if source.is_dir():
        for p in sorted(source.rglob("*")):
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | TEXT_SUFFIXES:
                yield ScanItem(str(p.relative_to(source)), path=str(p))
        return
    if not source.is_file():
        raise InvalidInput(f"{source} is neither a folder nor a file")
    with open(source, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise InvalidInput(f"{source}:{n} is not JSON") from None
            if not isinstance(row, dict) or not (isinstance(row.get("text"), str) or isinstance(row.get("path"), str)):
                raise InvalidInput(f'{source}:{n} must be {{"text": ...}} or {{"path": ...}}')
            item_id = str(row.get("id", n))
            if isinstance(row.get("text"), str):
                yield ScanItem(item_id, text=row["text"])
            else:
                path = Path(row["path"])
                yield ScanItem(item_id, path=str(path if path.is_absolute() else source.parent / path))


_ops: Operations | None = None


def _init_worker(settings: Settings) -> None:
    # The settings object itself (pickled to workers): a JSON dump would mask secret fields.
    global _ops
    _ops = Operations(Runtime.open(settings))


def _read(item: ScanItem) -> str | bytes:
    if item.text is not None:
        return item.text
    assert item.path is not None
    return read_bounded(item.path, _MAX_FILE, "the scan's file limit")


def row_of(item_id: str, kind: Literal["text", "image"], report: Report) -> ScanRow:
    """The scan row of one report."""
    hit = next((w for w in report.watermarks if w.detected), None)
    manifest = report.provenance if report.provenance and report.provenance.present else None
    if manifest is None and report.recovered is not None:
        manifest = report.recovered.manifest
    signer = manifest.signer.name if manifest and manifest.signer else None
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
        report=report,
    )


def _check(item: ScanItem) -> ScanRow:
    ops = _ops
    assert ops is not None, "worker not initialised"
    content: str | bytes | None = None
    as_text = item.path is not None and Path(item.path).suffix.lower() in TEXT_SUFFIXES
    try:
        content = _read(item)
        report = ops.verify(content, actor=cli_actor(), as_text=as_text, context={"scan_item": item.item_id})
    except AssayError as exc:  # audited by the operation; a file that cannot be read is no content checked
        return ScanRow(
            id=item.item_id,
            kind="text" if as_text or isinstance(content, str) else "unknown",
            sha256=None if content is None else sha256_hex(subject_bytes(content)),
            verdict="error",
            label=f"Could not check this item: {str(exc)[:300]}",
            error=kind_of(exc).slug,
        )
    return row_of(item.item_id, "text" if report.content_type == "text/plain" else "image", report)


def scan(items: list[ScanItem], settings: Settings, *, workers: int = 1, progress: bool = True) -> list[ScanRow]:
    """Check every item; rows come back in input order.

    Args:
        items: what to check.
        settings: the settings each worker opens its runtime with.
        workers: processes (1 = in this process).
        progress: draw a progress bar on stderr.
    """
    from tqdm import tqdm

    bar = tqdm(total=len(items), unit="item", disable=not progress, desc="scanning")
    rows: list[ScanRow] = []
    try:
        if workers <= 1:
            _init_worker(settings)
            for item in items:
                rows.append(_check(item))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(settings,)) as pool:
                for row in pool.map(_check, items, chunksize=max(1, min(16, len(items) // (4 * workers) or 1))):
                    rows.append(row)
                    bar.update()
    finally:
        bar.close()
    return rows


def summarise(rows: list[ScanRow]) -> ScanSummary:
    """Counts by verdict and kind."""
    return ScanSummary(
        items=len(rows),
        by_verdict=dict(Counter(r.verdict for r in rows)),
        by_kind=dict(Counter(r.kind for r in rows)),
        watermarked=sum(1 for r in rows if r.watermark_detected),
        signed=sum(1 for r in rows if r.manifest_id and not r.recovered),
        tampered=sum(1 for r in rows if r.tampered),
        recovered=sum(1 for r in rows if r.recovered),
    )


def scan_settings(settings: Settings, rt: Runtime) -> ScanSettings:
    """What the verdicts of a scan depend on, for its report."""
    return ScanSettings(
        text_watermark_fpr=settings.alpha,
        image_watermark_fpr=IMAGE_FPR,
        ai_likelihood=settings.ai_likelihood,
        ai_fpr=settings.ai_fpr,
        keys_tried=[k.key_id for k in rt.text.keyring],
        trust_anchors=len(rt.media.trust_anchors()),
        trust_dev_signer=settings.trust_dev_signer,
        model=settings.model or "embedded (SmolLM2-135M-Instruct)",
        store=settings.database_url.split(":", 1)[0].split("+", 1)[0],
    )


def run_scan(source: str, settings: Settings, *, workers: int = 1, progress: bool = True) -> ScanReport:
    """Scan every item of ``source`` and build the report, with the audit head at the end.

    Raises:
        InvalidInput: ``source`` cannot be read.
    """
    started = dt.datetime.now(dt.UTC)
    items = list(iter_items(Path(source)))
    rows = scan(items, settings, workers=workers, progress=progress)
    rt = Runtime.open(settings)
    return ScanReport(
        source=source,
        started_at=started.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        settings=scan_settings(settings, rt),
        audit_rows=rt.audit.count(),
        audit_head=rt.audit.head(),
        summary=summarise(rows),
        items=rows,
    )


def default_workers() -> int:
    """One worker per two cores (each runs a model that itself uses threads), at least one."""
    return max(1, (os.cpu_count() or 2) // 2)
