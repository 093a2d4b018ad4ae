"""Batch scans: every item of a folder, JSONL or Parquet source -> one row each, a summary and a report.

Items run on an engine (:mod:`api.scan.engines`: this process, a local pool, or Ray); every item
goes through the ``verify`` operation (:class:`api.scan.check.Checker`), so it is one ``verify``
row in the audit log with the same SHA-256 as the scan row. With a results table
(:mod:`api.scan.results`) rows are written as they finish and a second run skips the items
already there. The scan report records when it ran, the tool version, the settings that decide
(false-positive rates, keys tried, trust), the audit head at the end, and a signed checkpoint of the
audit log's Merkle tree with every item's verify row and its inclusion proof, so an auditor can
check each row against the log without its database (``assay audit verify-scan``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from api.core.runtime import Runtime
from api.core.settings import Settings
from api.scan.check import ScanRow
from api.scan.engines import Engine
from api.scan.engines import rows as engine_rows
from api.scan.results import ResultsTable
from api.scan.sources import DEFAULT_COLUMNS, Columns, iter_items
from watermark.image.detect import DEFAULT_FPR as IMAGE_FPR
from watermark.text.precision import resolve_precision

__all__ = ["ScanAuditProof", "ScanReport", "ScanRow", "ScanSettings", "ScanSummary", "run_scan", "summarise"]

VERSION = "0.1.0"
_FLUSH_ROWS = 32  # results are synced after this many rows
_FLUSH_S = 5.0  # or this many seconds


class ScanSettings(BaseModel):
    """The settings a scan's verdicts depend on (never secrets)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text_watermark_fpr: float
    image_watermark_fpr: float
    ai_likelihood: bool
    ai_fpr: float
    ai_precision: str = Field(description="The AI-likelihood models' weights: fp32 or bf16.")
    ai_screen: float | None = Field(
        default=None,
        description="The two-model statistic's screen: texts the embedded model alone puts above this p-value "
        "are decided without the second model (1: every text gets both; None: recorded before the screen existed).",
    )
    keys_tried: list[str]
    trust_anchors: int = Field(description="Trust anchor certificates in use (PEM blocks, the C2PA list's included).")
    trust_list: str | None = Field(default=None, description="The C2PA Trust List in force (None: turned off).")
    trust_dev_signer: bool
    model: str
    store: str = Field(description="The store's database kind (its URL is not recorded).")


# The labelling regimes and the row column that holds each one's status.
REGIME_COLUMNS = {
    "eu-ai-act-art50": "eu_ai_act_art50",
    "cn-gb-45438-2025": "cn_gb_45438_2025",
    "ca-sb-942": "ca_sb_942",
}


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
    by_regime: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Per labelling regime: items by status (meets, partial, ...)."
    )


class ScanAuditProof(BaseModel):
    """An item's verify row proven in the audit log: the row itself (its canonical JSON, the leaf's
    bytes) and its RFC 9162 audit path to the root of the report's signed checkpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="The scan item.")
    leaf_index: int
    leaf: str
    inclusion_path: list[str]


class ScanReport(BaseModel):
    """A whole scan: when, with what, the summary, the audit head at the end, and every row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str = "assay"
    version: str = VERSION
    source: str
    started_at: str
    finished_at: str
    settings: ScanSettings
    resumed: int = Field(0, description="Items whose rows came from the results table of an earlier run.")
    audit_rows: int = Field(description="Rows in the audit log when the scan ended.")
    audit_head: str = Field(description="The audit log's head hash when the scan ended (for `--expect-head`).")
    audit_checkpoint: str | None = Field(
        default=None, description="The audit log's signed checkpoint (C2SP signed note) when the scan ended."
    )
    audit_public_key: str | None = Field(default=None, description="The log's verifier key for that checkpoint.")
    summary: ScanSummary
    items: list[ScanRow]
    audit_proofs: list[ScanAuditProof] = Field(
        default_factory=list,
        description="Every item's verify row and inclusion proof: check them offline with `assay audit verify-scan`.",
    )


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
        by_regime={
            regime: dict(Counter(s for r in rows if (s := getattr(r, column)) is not None))
            for regime, column in REGIME_COLUMNS.items()
        },
    )


def scan_settings(settings: Settings, rt: Runtime) -> ScanSettings:
    """What the verdicts of a scan depend on, for its report."""
    return ScanSettings(
        text_watermark_fpr=settings.alpha,
        image_watermark_fpr=IMAGE_FPR,
        ai_likelihood=settings.ai_likelihood,
        ai_fpr=settings.ai_fpr,
        ai_precision=resolve_precision(settings.ai_precision),
        ai_screen=settings.ai_screen,
        keys_tried=[k.key_id for k in rt.text.keyring],
        trust_anchors=len(rt.media.trust_anchors()),
        trust_list=listed.version if (listed := rt.media.trust_list()) is not None else None,
        trust_dev_signer=settings.trust_dev_signer,
        model=settings.model or "embedded (SmolLM2-135M-Instruct)",
        store=settings.database_url.split(":", 1)[0].split("+", 1)[0],
    )


def run_scan(
    source: str,
    settings: Settings,
    *,
    workers: int = 1,
    engine: Engine = "local",
    address: str | None = None,
    results: str | None = None,
    columns: Columns = DEFAULT_COLUMNS,
    progress: bool = True,
) -> ScanReport:
    """Scan every item of ``source`` and build the report, with the audit head at the end.

    Args:
        source: a folder, a JSONL file or a Parquet file (see :func:`api.scan.sources.iter_items`).
        settings: what every worker opens its runtime with.
        workers: processes (local engine; 1 = this process) or actors (Ray).
        engine: ``local`` or ``ray``.
        address: the Ray cluster to join (``auto``: the running one); unset = a local instance.
        results: a results table (``.jsonl`` file or Parquet folder) written as items finish;
            items already in it are not checked again.
        columns: the column names of a JSONL or Parquet source.
        progress: draw a progress bar on stderr.

    Raises:
        InvalidInput: ``source`` or ``results`` cannot be read.
        ConfigurationError: the engine cannot start.
        KeyboardInterrupt: after the rows finished so far are in the results table.
    """
    from tqdm import tqdm

    started = dt.datetime.now(dt.UTC)
    items = list(iter_items(Path(source), columns))
    table = ResultsTable(Path(results)) if results else None
    done = table.load() if table is not None else {}
    found = {i.item_id: done[i.item_id] for i in items if i.item_id in done}
    todo = [i for i in items if i.item_id not in found]
    bar = tqdm(total=len(items), initial=len(found), unit="item", disable=not progress, desc="scanning")
    pending: list[ScanRow] = []
    flushed = time.monotonic()
    try:
        for row in engine_rows(todo, settings, engine=engine, workers=workers, address=address):
            found[row.id] = row
            pending.append(row)
            bar.update()
            if table is not None and (len(pending) >= _FLUSH_ROWS or time.monotonic() - flushed > _FLUSH_S):
                table.append(pending)
                pending, flushed = [], time.monotonic()
    finally:
        bar.close()
        if table is not None:
            table.append(pending)
    rows = [found[i.item_id] for i in items]
    rt = Runtime.open(settings)
    checkpoint, proofs = rt.audit_tree.prove_subjects([r.sha256 for r in rows])
    rows = [r.model_copy(update={"audit_leaf": p.leaf_index}) if p else r for r, p in zip(rows, proofs, strict=True)]
    return ScanReport(
        source=source,
        started_at=started.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        settings=scan_settings(settings, rt),
        audit_rows=rt.audit.count(),
        audit_head=rt.audit.head(),
        audit_checkpoint=checkpoint,
        audit_public_key=rt.audit_tree.verifier.encode(),
        resumed=len(items) - len(todo),
        summary=summarise(rows),
        items=rows,
        audit_proofs=[
            ScanAuditProof(id=r.id, leaf_index=p.leaf_index, leaf=p.leaf, inclusion_path=p.inclusion_path)
            for r, p in zip(rows, proofs, strict=True)
            if p is not None
        ],
    )
