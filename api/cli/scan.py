"""``assay scan``: audit a corpus in batch."""

from __future__ import annotations

import json
from pathlib import Path

import click

from api.cli.common import echo_json, fail, settings_from, write_atomic
from watermark.errors import AssayError

__all__ = ["scan"]


@click.command("scan")
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Report file; .json, .csv or .html (default: JSON on stdout)."
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def scan(source: str, out: str | None, workers: int, no_progress: bool) -> None:
    """Check every image and text in SOURCE (a folder, or JSONL rows {"text"} / {"path"}) and write a report."""
    from api.scan import run_scan
    from api.scan_report import render_csv, render_html

    try:
        report = run_scan(source, settings_from(), workers=workers, progress=not no_progress)
    except AssayError as exc:
        fail(exc)
    summary = report.summary
    if out is None:
        echo_json(report.model_dump(mode="json"))
        return
    target = Path(out)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        text = render_csv(report)
    elif suffix in (".html", ".htm"):
        text = render_html(report)
    else:
        text = json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False)
    write_atomic(target, text.encode())
    click.echo(
        f"{summary.items} items: {summary.by_verdict}; audit head {report.audit_head}; report written to {target}",
        err=True,
    )
