"""Batch scans: a folder or a JSONL file of texts and images -> one report per item and a summary.

Items run in a local process pool (each worker loads the model once) or in this process; every
item is one ``scan`` row in the audit log. The HTML summary draws its plots as inline SVG, so
the report is one self-contained file that opens offline.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.runtime import Runtime, cli_actor
from api.settings import Settings
from watermark.errors import AssayError, InvalidInput, PayloadTooLarge

__all__ = ["IMAGE_SUFFIXES", "ScanItem", "iter_items", "render_csv", "render_html", "scan", "summarise"]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
TEXT_SUFFIXES = {".txt", ".md"}
_MAX_FILE = 64 * 1024 * 1024


@dataclass(frozen=True)
class ScanItem:
    """One thing to check: a text, or an image file."""

    item_id: str
    text: str | None = None
    path: str | None = None


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


_runtime: Runtime | None = None


def _init_worker(settings: Settings) -> None:
    # The settings object itself (pickled to workers): a JSON dump would mask secret fields.
    global _runtime
    _runtime = Runtime.open(settings)


def _check(item: ScanItem) -> dict[str, Any]:
    rt = _runtime
    assert rt is not None, "worker not initialised"
    row: dict[str, Any] = {"id": item.item_id, "kind": "text" if item.text is not None else "image"}
    data = b""
    try:
        if item.text is not None:
            data = item.text.encode()
            report = rt.text.detect(item.text)
        else:
            assert item.path is not None
            with open(item.path, "rb") as fh:
                data = fh.read(_MAX_FILE + 1)
            if len(data) > _MAX_FILE:
                raise PayloadTooLarge(f"{item.path} is larger than {_MAX_FILE} bytes")
            if Path(item.path).suffix.lower() in TEXT_SUFFIXES:
                row["kind"] = "text"
                report = rt.text.detect(data)
            else:
                report = rt.media.verify_image(data)
    except (AssayError, OSError) as exc:
        result = f"error:{getattr(exc, 'type', 'io').rsplit('/', 1)[-1]}"
        rt.record(actor=cli_actor(), action="scan", result=result, subject=data, detail={"id": item.item_id})
        return row | {"verdict": "error", "label": str(exc)[:300], "report": None}
    out = report.to_dict()
    rt.record_report(actor=cli_actor(), action="scan", report=report, subject=data, detail={"id": item.item_id})
    hit = next((w for w in out["watermarks"] if w.get("detected") or w.get("found")), None)
    ai = out.get("ai_likelihood") or {}
    return row | {
        "verdict": report.verdict,
        "label": report.label,
        "watermark_found": hit is not None,
        "watermark_p_value": hit.get("p_value") if hit else None,
        "manifest": (out.get("provenance") or {}).get("validation_state"),
        "recovered": out.get("recovered") is not None,
        "ai_p_value": ai.get("p_value"),
        "report": out,
    }


def scan(items: list[ScanItem], settings: Settings, *, workers: int = 1, progress: bool = True) -> list[dict[str, Any]]:
    """Check every item; rows come back in input order.

    Args:
        items: what to check.
        settings: the settings each worker opens its runtime with.
        workers: processes (1 = in this process).
        progress: draw a progress bar on stderr.
    """
    from tqdm import tqdm

    bar = tqdm(total=len(items), unit="item", disable=not progress, desc="scanning")
    rows: list[dict[str, Any]] = []
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


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by verdict and kind."""
    return {
        "items": len(rows),
        "by_verdict": dict(Counter(r["verdict"] for r in rows)),
        "by_kind": dict(Counter(r["kind"] for r in rows)),
        "watermarked": sum(1 for r in rows if r.get("watermark_found")),
        "recovered": sum(1 for r in rows if r.get("recovered")),
    }


_CSV_FIELDS = [
    "id",
    "kind",
    "verdict",
    "label",
    "watermark_found",
    "watermark_p_value",
    "manifest",
    "recovered",
    "ai_p_value",
]


def render_csv(rows: list[dict[str, Any]]) -> str:
    """One CSV line per item (the full reports are in the JSON output)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_CSV_FIELDS, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _bar_chart(counts: dict[str, int], title: str) -> str:
    width, bar_h, gap = 520, 26, 8
    colours = {"ai": "#c0392b", "no-evidence": "#2e7d4f", "inconclusive": "#b7791f", "error": "#666"}
    top = max(counts.values(), default=1)
    h = 30 + len(counts) * (bar_h + gap)
    parts = [
        f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{h}" viewBox="0 0 {width} {h}">'
    ]
    parts.append(f'<text x="0" y="16" font-weight="600">{html.escape(title)}</text>')
    for i, (name, n) in enumerate(sorted(counts.items())):
        y = 28 + i * (bar_h + gap)
        w = 0 if top == 0 else int((width - 200) * n / top)
        parts.append(f'<text x="0" y="{y + 18}">{html.escape(name)}</text>')
        parts.append(f'<rect x="120" y="{y}" width="{w}" height="{bar_h}" fill="{colours.get(name, "#1f4fbf")}"/>')
        parts.append(f'<text x="{126 + w}" y="{y + 18}">{n}</text>')
    return "".join(parts) + "</svg>"


def _histogram(values: list[float], title: str, xlabel: str, bins: int = 20) -> str:
    width, height, pad = 520, 200, 30
    parts = [f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{height + 50}">']
    parts.append(f'<text x="0" y="16" font-weight="600">{html.escape(title)}</text>')
    if not values:
        return "".join(parts) + '<text x="0" y="40">no values</text></svg>'
    lo, hi = min(values), max(values)
    hi = hi if hi > lo else lo + 1
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / (hi - lo) * bins))] += 1
    top = max(counts)
    bw = (width - pad) / bins
    for i, c in enumerate(counts):
        bh = height * c / top
        x, y = pad + i * bw, 24 + height - bh
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw - 1:.1f}" height="{bh:.1f}" fill="#1f4fbf"/>')
    parts.append(f'<text x="{pad}" y="{height + 44}">{lo:.2g}</text>')
    parts.append(f'<text x="{width - 40}" y="{height + 44}">{hi:.2g}</text>')
    parts.append(f'<text x="{width / 2 - 60:.0f}" y="{height + 44}">{html.escape(xlabel)}</text>')
    return "".join(parts) + "</svg>"


def render_html(rows: list[dict[str, Any]], source: str) -> str:
    """A self-contained HTML report: summary, plots, and one line per item."""
    s = summarise(rows)
    wm = [-math.log10(max(r["watermark_p_value"], 1e-300)) for r in rows if r.get("watermark_p_value") is not None]
    ai = [-math.log10(max(r["ai_p_value"], 1e-300)) for r in rows if r.get("ai_p_value") is not None]
    body = [
        f"<h1>Assay scan of {html.escape(source)}</h1>",
        f"<p>{s['items']} items; {s['watermarked']} carry a watermark; {s['recovered']} had credentials recovered.</p>",
        _bar_chart(s["by_verdict"], "Verdicts"),
        _histogram(wm, "Watermark evidence (detected items)", "-log10 p"),
        _histogram(ai, "AI-likelihood evidence (texts)", "-log10 p"),
        "<table><thead><tr>" + "".join(f"<th>{f}</th>" for f in _CSV_FIELDS) + "</tr></thead><tbody>",
    ]
    for r in rows:
        cells = "".join(f"<td>{html.escape('' if r.get(f) is None else str(r.get(f)))}</td>" for f in _CSV_FIELDS)
        body.append(f'<tr class="{html.escape(r["verdict"])}">{cells}</tr>')
    body.append("</tbody></table>")
    style = (
        "body{font:14px system-ui,sans-serif;margin:2rem;max-width:70rem}svg{display:block;margin:1rem 0}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left}"
        "tr.ai td:nth-child(3){color:#c0392b;font-weight:600}"
    )
    head = f'<!doctype html><html lang="en"><meta charset="utf-8"><title>Assay scan</title><style>{style}</style>'
    return head + f"<body>{''.join(body)}</body></html>"


def default_workers() -> int:
    """One worker per two cores (each runs a model that itself uses threads), at least one."""
    return max(1, (os.cpu_count() or 2) // 2)
