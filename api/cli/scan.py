"""``assay scan``: audit a corpus in batch."""

from __future__ import annotations

import json
from pathlib import Path

import click

from api.cli.common import echo_json, fail, out_suffix, settings_from, write_atomic
from api.core.wording import counted
from watermark.errors import AssayError

__all__ = ["scan"]


@click.command("scan")
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    callback=out_suffix(
        {".json": "json", ".csv": "csv", ".html": "html", ".htm": "html"},
        "for a results table (Parquet or JSONL) use --results",
    ),
    help="Report file; .json, .csv or .html (default: JSON on stdout).",
)
@click.option(
    "--results",
    type=click.Path(),
    help="Results table written as items finish: a .jsonl file, or a Parquet folder (any other name). "
    "Run again with the same table to resume: items already in it are skipped.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this machine's processes; ray: a Ray cluster (Ray Data actors).",
)
@click.option("--address", help="Ray cluster to join ('auto': the running one); default: start a local instance.")
@click.option(
    "--workers", type=click.IntRange(1, 1024), default=1, show_default=True, help="Worker processes or Ray actors."
)
@click.option("--text-column", default="text", show_default=True, help="JSONL/Parquet column holding a text.")
@click.option("--path-column", default="path", show_default=True, help="JSONL/Parquet column holding a file path.")
@click.option("--id-column", default="id", show_default=True, help="JSONL/Parquet column holding the item id.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def scan(
    source: str,
    out: str | None,
    results: str | None,
    engine: str,
    address: str | None,
    workers: int,
    text_column: str,
    path_column: str,
    id_column: str,
    no_progress: bool,
) -> None:
    """Check every image, text, audio and video file in SOURCE and write a report.

    SOURCE is a folder (images, audio, video, .txt and .md files), a JSONL file of rows {"text": ...} or
    {"path": ...} with an optional "id", or a Parquet file with such columns.
    """
    from api.scan.report import render_csv, render_html
    from api.scan.run import run_scan
    from api.scan.sources import Columns

    if address and engine != "ray":
        raise click.UsageError("--address is for --engine ray")
    try:
        report = run_scan(
            source,
            settings_from(),
            workers=workers,
            engine=engine,  # type: ignore[arg-type]
            address=address,
            results=results,
            columns=Columns(text=text_column, path=path_column, id=id_column),
            progress=not no_progress,
        )
    except AssayError as exc:
        fail(exc)
    except KeyboardInterrupt:
        where = f"; the items checked so far are in {results}: run the same command to resume" if results else ""
        click.echo(f"scan interrupted{where}", err=True)
        raise SystemExit(130) from None
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
    else:  # .json (the --out callback refused any other suffix)
        text = json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False)
    write_atomic(target, text.encode())
    verdicts = ", ".join(f"{n} {verdict}" for verdict, n in sorted(summary.by_verdict.items()))
    earlier = f" ({report.resumed} from an earlier run in {results})" if report.resumed else ""
    click.echo(
        f"{counted(summary.items, 'item')}{earlier}: {verdicts}; audit head {report.audit_head}; "
        f"report written to {target}",
        err=True,
    )
