"""Labelling law on the command line: ``label`` writes the labels the rules name, ``comply``
prints each regime's judgement for people, ``trust`` shows and updates the C2PA trust lists."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.common import (
    MAX_IMAGE_BYTES,
    check_output_suffix,
    echo_json,
    fail,
    open_operations,
    read_bounded,
    settings_from,
    write_atomic,
)
from api.core.labelling import LabelRequest
from api.core.runtime import cli_actor
from detect.compliance import REGIME_NAMES
from detect.content import Content
from detect.report import Report
from provenance.manifest import SOURCE_TYPES
from watermark.errors import AssayError, InvalidInput

__all__ = ["comply", "label", "trust"]

_STATUS_WORDS = {
    "meets": "meets",
    "partial": "partly meets",
    "does-not-meet": "does not meet",
    "not-applicable": "not applicable",
}


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("output", type=click.Path(dir_okay=False))
@click.option(
    "--label", "value", type=click.Choice(["1", "2", "3"]), help="1 AI-generated (default), 2 possibly, 3 suspected."
)
@click.option("--producer", help="ContentProducer (default: the file's own, else ASSAY_LABEL_PRODUCER).")
@click.option("--produce-id", help="ProduceID (default: the file's own, else a hash of its content).")
@click.option("--propagator", help="ContentPropagator: the platform spreading the file.")
@click.option("--propagate-id", help="PropagateID: the platform's id for it.")
@click.option("--source-type", type=click.Choice(SOURCE_TYPES), help="IPTC digital source type (images).")
@click.option("--notice", help="An explicit notice to put at a text's start.")
@click.option("--default-notice", is_flag=True, help="Put the default notice at a text's start.")
@click.option("--caption", help="Draw this caption onto an image (letters at least 5 % of its short side).")
@click.option("--default-caption", is_flag=True, help="Draw the default caption ('AI-generated') onto an image.")
@click.option("--caption-font", type=click.Path(exists=True, dir_okay=False), help="TrueType font for the caption.")
@click.option("--resign", is_flag=True, help="Re-sign a file whose C2PA credentials the label would break.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def label(
    source: str,
    output: str,
    value: str | None,
    producer: str | None,
    produce_id: str | None,
    propagator: str | None,
    propagate_id: str | None,
    source_type: str | None,
    notice: str | None,
    default_notice: bool,
    caption: str | None,
    default_caption: bool,
    caption_font: str | None,
    resign: bool,
    as_json: bool,
) -> None:
    """Add or update the AIGC implicit label (GB 45438) of SOURCE and write OUTPUT: images (XMP,
    with the IPTC source type, and a visible caption if asked), MP3, FLAC, WAV, MP4/MOV/M4A,
    MKV, DOCX/XLSX/PPTX and Markdown or plain texts (front matter, and an explicit notice if
    asked). A platform that redistributes a file adds its --propagator and --propagate-id; the
    producer's fields are kept."""
    from provenance.labels import DEFAULT_NOTICE
    from provenance.labels.caption import DEFAULT_CAPTION

    try:
        if notice is not None and default_notice:
            raise InvalidInput("give --notice or --default-notice, not both")
        if caption is not None and default_caption:
            raise InvalidInput("give --caption or --default-caption, not both")
        data = read_bounded(source, MAX_IMAGE_BYTES, "the input limit")
        what = Content.of_bytes(data)
        if what.kind != "text":  # before anything is written or audited
            check_output_suffix(Path(output), what.header.mime_type if what.header else what.mime or "")
        request = LabelRequest(
            label=value,
            producer=producer,
            produce_id=produce_id,
            propagator=propagator,
            propagate_id=propagate_id,
            source_type=source_type,
            notice=DEFAULT_NOTICE if default_notice else notice,
            caption=DEFAULT_CAPTION if default_caption else caption,
            caption_font=caption_font,
            resign=resign,
        )
        out = open_operations(settings_from()).label(data, request, actor=cli_actor())
    except AssayError as exc:
        fail(exc)
    write_atomic(Path(output), out.data)
    info = {"output": output, "mime_type": out.mime, "carrier": out.carrier, "label": out.label.fields()}
    if out.manifest_id:
        info["manifest_id"] = out.manifest_id
    if as_json:
        echo_json(info)
        return
    fields = out.label.fields()
    click.echo(
        f"wrote {output}: implicit label in {out.carrier} — Label {fields['Label']}, "
        f"producer {fields['ContentProducer'] or '–'} ({fields['ProduceID'] or '–'})"
    )
    if fields["ContentPropagator"]:
        click.echo(f"propagator {fields['ContentPropagator']} ({fields['PropagateID']})")
    if out.manifest_id:
        click.echo(f"re-signed: manifest {out.manifest_id} (the original's credentials are its ingredient)")


def _print_compliance(path: str, report: Report) -> None:
    click.echo(f"{path}  ({report.content_type})")
    click.echo(f"  {report.label}")
    width = max(len(n) for n in REGIME_NAMES.values())
    for c in report.compliance:
        click.echo(f"  {REGIME_NAMES[c.regime]:<{width}}  {_STATUS_WORDS[c.status]:<14}  {c.summary}")
        if c.layers:
            click.echo(f"  {'':<{width}}  {'':<14}  layers: {', '.join(c.layers)}")
        for m in c.missing:
            click.echo(f"  {'':<{width}}  {'':<14}  missing: {m}")
        for n in c.notes:
            click.echo(f"  {'':<{width}}  {'':<14}  note: {n}")
    for lab in report.labels:
        mark = "" if lab.valid else "  ✗ " + "; ".join(lab.problems)
        click.echo(f"  label: {lab.in_words}{mark}")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@click.option("--strict", is_flag=True, help="Exit 3 when any file partly meets or does not meet a regime.")
def comply(paths: tuple[str, ...], as_json: bool, strict: bool) -> None:
    """Judge each file against the labelling rules (EU AI Act Art. 50, China's GB 45438-2025,
    California SB 942): which marking layers it carries and what is missing."""
    settings = settings_from()
    ops = open_operations(settings)
    short = []
    for path in paths:
        try:
            data = read_bounded(path, max(MAX_IMAGE_BYTES, 4 * settings.max_text_chars + 4), "the input limit")
            report = ops.verify(data, actor=cli_actor())
        except AssayError as exc:
            fail(exc)
        if as_json:
            echo_json(
                {
                    "path": path,
                    "content_type": report.content_type,
                    "compliance": [c.model_dump(mode="json") for c in report.compliance],
                    "labels": [lab.model_dump(mode="json") for lab in report.labels],
                }
            )
        else:
            _print_compliance(path, report)
        short += [c for c in report.compliance if c.status in ("partial", "does-not-meet")]
    if strict and short:
        raise SystemExit(3)


@click.group()
def trust() -> None:
    """Show and update the C2PA Trust List and TSA Trust List this installation trusts."""


@trust.command("show")
def trust_show() -> None:
    """Which lists are in force (version, source, entities)."""
    from provenance.trust_lists import load_trust_list

    settings = settings_from()
    try:
        for kind in ("signers", "tsa"):
            tl = load_trust_list(kind, data_dir=settings.data_dir)
            where = "shipped with Assay" if tl.source == "shipped" else f"installed at {tl.source}"
            click.echo(f"{tl.version} ({where}; next update {str(tl.next_update or '–')[:10]})")
            click.echo(
                f"  {len(tl.entities)} entities, {len(tl.anchors())} certificates: "
                + ", ".join(e.name for e in tl.entities)
            )
    except AssayError as exc:
        fail(exc)
    if not settings.c2pa_trust_list:
        click.echo("note: ASSAY_C2PA_TRUST_LIST is off: only this server's own anchors are trusted")


@trust.command("update")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["signers", "tsa"]), help="Which list (default: from its scheme name).")
def trust_update(file: str, kind: str | None) -> None:
    """Install FILE (a C2PA trust list in its published JSON form) in the data directory; it
    replaces the shipped copy from the next start on, without a new release."""
    from provenance.trust_lists import install_trust_list

    try:
        tl = install_trust_list(read_bounded(file, 8 * 1024 * 1024, "8 MiB"), settings_from().data_dir, kind=kind)
    except AssayError as exc:
        fail(exc)
    click.echo(f"installed {tl.version}: {len(tl.entities)} entities, {len(tl.anchors())} certificates ({tl.source})")
