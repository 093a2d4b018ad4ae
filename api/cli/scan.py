"""``assay scan``: audit a corpus in batch."""

from __future__ import annotations

import json
from pathlib import Path

import click

from api.cli.common import fail, settings_from, write_atomic
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
    from api.scan import iter_items, render_csv, render_html, summarise
    from api.scan import scan as run_scan

    try:
        items = list(iter_items(Path(source)))
        rows = run_scan(items, settings_from(), workers=workers, progress=not no_progress)
    except AssayError as exc:
        fail(exc)
    summary = summarise(rows)
    if out is None:
        click.echo(json.dumps({"summary": summary, "items": rows}, indent=2))
        return
    target = Path(out)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        text = render_csv(rows)
    elif suffix in (".html", ".htm"):
        text = render_html(rows, source)
    else:
        text = json.dumps({"summary": summary, "items": rows}, indent=2)
    write_atomic(target, text.encode())
    click.echo(f"{summary['items']} items: {summary['by_verdict']}; report written to {target}", err=True)
