"""A scan report for auditors: CSV, and one self-contained HTML page with labelled plots.

Numbers have three significant digits, booleans read yes/no, and every row carries the full
SHA-256 that its audit row has. The plots are inline SVG (the page opens offline).
"""

from __future__ import annotations

import csv
import html
import io
import math

from api.core.wording import counted
from api.scan.run import REGIME_COLUMNS, ScanReport, ScanRow
from detect.compliance import REGIME_NAMES

__all__ = ["render_csv", "render_html"]

_COLUMNS = (
    ("id", "Item"),
    ("kind", "Kind"),
    ("verdict", "Verdict"),
    ("label", "Label"),
    ("watermark_detected", "Watermark"),
    ("watermark_key", "Watermark key"),
    ("watermark_p_value", "Watermark p"),
    ("manifest_state", "C2PA manifest"),
    ("signer", "Signer"),
    ("signer_trusted", "Signer trusted"),
    ("manifest_id", "Manifest id"),
    ("recovered", "Recovered"),
    ("ai_p_value", "AI-likelihood p"),
    ("implicit_label", "AIGC label"),
    ("eu_ai_act_art50", "EU AI Act Art. 50"),
    ("cn_gb_45438_2025", "GB 45438-2025"),
    ("ca_sb_942", "SB 942"),
    ("error", "Error"),
    ("sha256", "SHA-256 (audit subject)"),
    ("audit_leaf", "Audit leaf"),
)
_COLOURS = {
    "ai": "#3b2a8c",
    "no-evidence": "#2e7d4f",
    "inconclusive": "#a15c07",
    "error": "#555",
    "meets": "#2e7d4f",
    "partial": "#a15c07",
    "does-not-meet": "#b3261e",
    "not-applicable": "#777",
}


def _checkpoint_line(report: ScanReport) -> str:
    """The signed checkpoint in words: origin, tree size, root, and how to check the rows."""
    if report.audit_checkpoint is None:
        return "none recorded"
    origin, size, root = report.audit_checkpoint.split("\n")[:3]
    rows = counted(len(report.items), "item's", "items'")
    return (
        f"{origin}, tree size {size}, root {root}; key {report.audit_public_key}; "
        f"proofs for {len(report.audit_proofs)} of the {rows} rows (check: assay audit verify-scan)"
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def render_csv(report: ScanReport) -> str:
    """One CSV line per item (the full reports are in the JSON output)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([name for name, _ in _COLUMNS])
    for r in report.items:
        w.writerow([_cell(getattr(r, name)) for name, _ in _COLUMNS])
    return buf.getvalue()


def _bar_chart(counts: dict[str, int], title: str) -> str:
    width, bar_h, gap, left = 560, 24, 8, 130
    top = max(counts.values(), default=0) or 1
    h = 56 + len(counts) * (bar_h + gap)
    parts = [f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{h}">']
    parts.append(f'<text x="0" y="16" font-weight="600">{html.escape(title)}</text>')
    for i, (name, n) in enumerate(sorted(counts.items())):
        y = 28 + i * (bar_h + gap)
        w = int((width - left - 60) * n / top)
        parts.append(f'<text x="0" y="{y + 17}">{html.escape(name)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w}" height="{bar_h}" fill="{_COLOURS.get(name, "#1f4fbf")}"/>')
        parts.append(f'<text x="{left + w + 6}" y="{y + 17}">{n}</text>')
    parts.append(f'<text x="{left}" y="{h - 6}" font-size="12">number of items</text>')
    return "".join(parts) + "</svg>"


def _histogram(values: list[float], title: str, xlabel: str, bins: int = 12) -> str:
    """A histogram with its counts on the bars, a labelled x axis with ticks, and a y axis."""
    width, height, left, bottom = 580, 180, 44, 46
    heading = f'<text x="0" y="16" font-weight="600">{html.escape(title)}</text>'
    if not values:  # a line, not an empty plot's height
        return (
            f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="56">'
            f'{heading}<text x="0" y="44">no items with this evidence</text></svg>'
        )
    parts = [f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{height + bottom + 28}">']
    parts.append(heading)
    lo, hi = min(values), max(values)
    hi = hi if hi > lo else lo + 1
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / (hi - lo) * bins))] += 1
    top = max(counts)
    plot_w = width - left - 40
    bw = plot_w / bins
    y0 = 28 + height
    parts.append(f'<line x1="{left}" y1="{y0}" x2="{left + plot_w}" y2="{y0}" stroke="#333"/>')
    parts.append(f'<line x1="{left}" y1="28" x2="{left}" y2="{y0}" stroke="#333"/>')
    parts.append(f'<text x="{left - 6}" y="34" text-anchor="end" font-size="12">{top}</text>')
    parts.append(f'<text x="{left - 6}" y="{y0}" text-anchor="end" font-size="12">0</text>')
    parts.append(
        f'<text x="12" y="{28 + height / 2:.0f}" font-size="12" transform="rotate(-90 12 {28 + height / 2:.0f})" '
        'text-anchor="middle">items</text>'
    )
    for i, c in enumerate(counts):
        bh = (height - 14) * c / top
        x = left + i * bw
        parts.append(f'<rect x="{x + 1:.1f}" y="{y0 - bh:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" fill="#1f4fbf"/>')
        if c:
            parts.append(
                f'<text x="{x + bw / 2:.1f}" y="{y0 - bh - 3:.1f}" text-anchor="middle" font-size="11">{c}</text>'
            )
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        x = left + plot_w * k / 4
        parts.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + 4}" stroke="#333"/>')
        parts.append(f'<text x="{x:.1f}" y="{y0 + 17}" text-anchor="middle" font-size="12">{v:.3g}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{y0 + 38}" text-anchor="middle">{html.escape(xlabel)}</text>')
    return "".join(parts) + "</svg>"


def _log10_p(rows: list[ScanRow], attr: str) -> list[float]:
    values = (getattr(r, attr) for r in rows)
    return [-math.log10(max(v, 1e-300)) for v in values if v is not None]


def render_html(report: ScanReport) -> str:
    """A self-contained HTML report: when and how it ran, the summary, plots, one line per item."""
    s, st = report.summary, report.settings
    esc = html.escape
    settings_rows = [
        ("Tool", f"{report.tool} {report.version}"),
        ("Source", report.source),
        ("Started / finished (UTC)", f"{report.started_at} / {report.finished_at}"),
        ("Text watermark: false-positive rate", _cell(st.text_watermark_fpr)),
        ("Image watermark: false-positive rate", _cell(st.image_watermark_fpr)),
        (
            "AI-likelihood",
            f"on, false-positive rate {st.ai_fpr:.3g}, {st.ai_precision} weights"
            + (
                f", the second model only where the embedded model alone gives p ≤ {st.ai_screen:g}"
                if st.ai_screen and st.ai_screen < 1
                else ""
            )
            if st.ai_likelihood
            else "off",
        ),
        ("Watermark keys tried", ", ".join(st.keys_tried)),
        (
            "Trust anchors",
            f"{st.trust_anchors} certificate(s){'; ' + st.trust_list if st.trust_list else ''}; "
            f"development signer trusted: {_cell(st.trust_dev_signer)}",
        ),
        ("Language model", st.model),
        ("Audit log at the end", f"{counted(report.audit_rows, 'row')}, head {report.audit_head}"),
        ("Audit checkpoint", _checkpoint_line(report)),
    ]
    if report.resumed:  # their audit rows were written by the earlier run
        settings_rows.insert(3, ("Items from an earlier run", f"{report.resumed} (read from the results table)"))
    body = [
        f"<h1>Assay scan of {esc(report.source)}</h1>",
        "<table class=meta>"
        + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in settings_rows)
        + "</table>",
        f"<p>{counted(s.items, 'item')}. Carry a watermark: {s.watermarked}. Carry C2PA credentials: {s.signed}, "
        f"of which tampered: {s.tampered}. Credentials recovered through the watermark: {s.recovered}.</p>",
        _bar_chart(s.by_verdict, "Verdicts"),
        *(
            _bar_chart(s.by_regime[regime], f"{REGIME_NAMES[regime]}: items by status")
            for regime in REGIME_COLUMNS
            if s.by_regime.get(regime)
        ),
        _histogram(
            _log10_p(report.items, "watermark_p_value"),
            "Watermark evidence (items with a watermark)",
            "strength of evidence: −log10 p (higher = stronger)",
        ),
        _histogram(
            _log10_p(report.items, "ai_p_value"),
            "AI-likelihood evidence (texts)",
            "strength of evidence: −log10 p (higher = stronger)",
        ),
        # the table scrolls sideways in its own box where it is wider than the window, not the page
        "<div class=wide><table class=items><thead><tr>"
        + "".join(f"<th>{esc(t)}</th>" for _, t in _COLUMNS)
        + "</tr></thead><tbody>",
    ]
    for r in report.items:
        cells = "".join(f"<td class={name}>{esc(_cell(getattr(r, name)))}</td>" for name, _ in _COLUMNS)
        body.append(f'<tr class="{esc(r.verdict)}">{cells}</tr>')
    body.append("</tbody></table></div>")
    style = (
        "body{font:14px system-ui,sans-serif;margin:2rem;max-width:90rem;color:#1b1b1b}svg{display:block;margin:1rem 0}"
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;"
        "vertical-align:top}table.items{font-size:12px}td.label{min-width:16rem}"
        "table.meta th{background:#f4f4f4;font-weight:600}td.sha256,td.manifest_id{font:11px "
        "ui-monospace,monospace;word-break:break-all;max-width:14rem}tr.ai td.verdict{color:#3b2a8c;font-weight:600}"
        "tr.error td.verdict{color:#555;font-style:italic}div.wide{overflow-x:auto}"
        "table.meta td{overflow-wrap:anywhere}"
    )
    head = f'<!doctype html><html lang="en"><meta charset="utf-8"><title>Assay scan</title><style>{style}</style>'
    return head + f"<body>{''.join(body)}</body></html>"
